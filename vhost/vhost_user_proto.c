#include "vhost/vhost_user_proto.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const request_names[] = {
	[VHOST_USER_GET_FEATURES] = "GET_FEATURES",
	[VHOST_USER_SET_FEATURES] = "SET_FEATURES",
	[VHOST_USER_SET_OWNER] = "SET_OWNER",
	[VHOST_USER_RESET_OWNER] = "RESET_OWNER",
	[VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VHOST_USER_SET_LOG_BASE] = "SET_LOG_BASE",
	[VHOST_USER_SET_LOG_FD] = "SET_LOG_FD",
	[VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
	[VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
	[VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
	[VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
	[VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
	[VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
	[VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VHOST_USER_SEND_RARP] = "SEND_RARP",
	[VHOST_USER_NET_SET_MTU] = "NET_SET_MTU",
	[VHOST_USER_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[VHOST_USER_IOTLB_MSG] = "IOTLB_MSG",
	[VHOST_USER_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VHOST_USER_GET_CONFIG] = "GET_CONFIG",
	[VHOST_USER_SET_CONFIG] = "SET_CONFIG",
	[VHOST_USER_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
	[VHOST_USER_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
	[VHOST_USER_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
	[VHOST_USER_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
	[VHOST_USER_POSTCOPY_END] = "POSTCOPY_END",
	[VHOST_USER_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VHOST_USER_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VHOST_USER_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
	[VHOST_USER_RESET_DEVICE] = "RESET_DEVICE",
	[VHOST_USER_VRING_KICK] = "VRING_KICK",
	[VHOST_USER_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VHOST_USER_ADD_MEM_REG] = "ADD_MEM_REG",
	[VHOST_USER_REM_MEM_REG] = "REM_MEM_REG",
	[VHOST_USER_SET_STATUS] = "SET_STATUS",
	[VHOST_USER_GET_STATUS] = "GET_STATUS",
	[VHOST_USER_GET_SHARED_OBJECT] = "GET_SHARED_OBJECT",
	[VHOST_USER_SET_DEVICE_STATE_FD] = "SET_DEVICE_STATE_FD",
	[VHOST_USER_CHECK_DEVICE_STATE] = "CHECK_DEVICE_STATE",
};

static const char *const backend_request_names[] = {
	[VHOST_USER_BACKEND_IOTLB_MSG] = "IOTLB_MSG",
	[VHOST_USER_BACKEND_CONFIG_CHANGE_MSG] = "CONFIG_CHANGE_MSG",
	[VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG] = "VRING_HOST_NOTIFIER_MSG",
	[VHOST_USER_BACKEND_VRING_CALL] = "VRING_CALL",
	[VHOST_USER_BACKEND_VRING_ERR] = "VRING_ERR",
	[VHOST_USER_BACKEND_SHARED_OBJECT_ADD] = "SHARED_OBJECT_ADD",
	[VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE] = "SHARED_OBJECT_REMOVE",
	[VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP] = "SHARED_OBJECT_LOOKUP",
};

static const char *const protocol_feature_names[] = {
	[VHOST_USER_PROTOCOL_F_MQ] = "MQ",
	[VHOST_USER_PROTOCOL_F_LOG_SHMFD] = "LOG_SHMFD",
	[VHOST_USER_PROTOCOL_F_RARP] = "RARP",
	[VHOST_USER_PROTOCOL_F_REPLY_ACK] = "REPLY_ACK",
	[VHOST_USER_PROTOCOL_F_MTU] = "MTU",
	[VHOST_USER_PROTOCOL_F_BACKEND_REQ] = "BACKEND_REQ",
	[VHOST_USER_PROTOCOL_F_CROSS_ENDIAN] = "CROSS_ENDIAN",
	[VHOST_USER_PROTOCOL_F_CRYPTO_SESSION] = "CRYPTO_SESSION",
	[VHOST_USER_PROTOCOL_F_PAGEFAULT] = "PAGEFAULT",
	[VHOST_USER_PROTOCOL_F_CONFIG] = "CONFIG",
	[VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD] = "BACKEND_SEND_FD",
	[VHOST_USER_PROTOCOL_F_HOST_NOTIFIER] = "HOST_NOTIFIER",
	[VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD] = "INFLIGHT_SHMFD",
	[VHOST_USER_PROTOCOL_F_RESET_DEVICE] = "RESET_DEVICE",
	[VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS] = "INBAND_NOTIFICATIONS",
	[VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS] = "CONFIGURE_MEM_SLOTS",
	[VHOST_USER_PROTOCOL_F_STATUS] = "STATUS",
	[VHOST_USER_PROTOCOL_F_XEN_MMAP] = "XEN_MMAP",
	[VHOST_USER_PROTOCOL_F_SHARED_OBJECT] = "SHARED_OBJECT",
	[VHOST_USER_PROTOCOL_F_DEVICE_STATE] = "DEVICE_STATE",
};

/* Transport bits from the virtio spec (6 Reserved Feature Bits) plus the
 * two vhost-only bits a vhost-user trace shows all the time. */
static const char *const virtio_feature_names[] = {
	[24] = "NOTIFY_ON_EMPTY",
	[26] = "LOG_ALL",
	[27] = "ANY_LAYOUT",
	[28] = "INDIRECT_DESC",
	[29] = "EVENT_IDX",
	[30] = "PROTOCOL_FEATURES",
	[32] = "VERSION_1",
	[33] = "ACCESS_PLATFORM",
	[34] = "RING_PACKED",
	[35] = "IN_ORDER",
	[36] = "ORDER_PLATFORM",
	[37] = "SR_IOV",
	[38] = "NOTIFICATION_DATA",
	[39] = "NOTIF_CONFIG_DATA",
	[40] = "RING_RESET",
	[41] = "ADMIN_VQ",
};

const char *vhost_user_request_name(uint32_t request)
{
	return request < ARRAY_SIZE(request_names) ? request_names[request] : NULL;
}

const char *vhost_user_backend_request_name(uint32_t request)
{
	return request < ARRAY_SIZE(backend_request_names) ?
		backend_request_names[request] : NULL;
}

const char *vhost_user_protocol_feature_name(unsigned bit)
{
	return bit < ARRAY_SIZE(protocol_feature_names) ?
		protocol_feature_names[bit] : NULL;
}

const char *vhost_user_virtio_feature_name(unsigned bit)
{
	return bit < ARRAY_SIZE(virtio_feature_names) ?
		virtio_feature_names[bit] : NULL;
}

bool vhost_user_request_has_reply(uint32_t request)
{
	switch (request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_GET_INFLIGHT_FD:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
	case VHOST_USER_GET_STATUS:
	case VHOST_USER_GET_SHARED_OBJECT:
	case VHOST_USER_SET_DEVICE_STATE_FD:
	case VHOST_USER_CHECK_DEVICE_STATE:
	case VHOST_USER_IOTLB_MSG:
	case VHOST_USER_POSTCOPY_ADVISE:
	case VHOST_USER_POSTCOPY_END:
		return true;
	default:
		return false;
	}
}

bool vhost_user_request_size_ok(uint32_t request, uint32_t size)
{
	switch (request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_SET_OWNER:
	case VHOST_USER_RESET_OWNER:
	case VHOST_USER_SET_LOG_FD:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_SET_BACKEND_REQ_FD:
	case VHOST_USER_POSTCOPY_ADVISE:
	case VHOST_USER_POSTCOPY_LISTEN:
	case VHOST_USER_POSTCOPY_END:
	case VHOST_USER_GPU_SET_SOCKET:
	case VHOST_USER_RESET_DEVICE:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
	case VHOST_USER_GET_STATUS:
	case VHOST_USER_CHECK_DEVICE_STATE:
		return size == 0;
	case VHOST_USER_SET_FEATURES:
	case VHOST_USER_SET_PROTOCOL_FEATURES:
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
	case VHOST_USER_SEND_RARP:
	case VHOST_USER_NET_SET_MTU:
	case VHOST_USER_SET_STATUS:
	case VHOST_USER_CLOSE_CRYPTO_SESSION:
		return size == sizeof(uint64_t);
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
	case VHOST_USER_SET_VRING_ENDIAN:
	case VHOST_USER_VRING_KICK:
		return size == sizeof(struct vhost_vring_state);
	case VHOST_USER_SET_VRING_ADDR:
		return size == sizeof(struct vhost_vring_addr);
	case VHOST_USER_SET_MEM_TABLE:
		/* Only the regions in use are sent (QEMU, rust-vmm). */
		return size >= 8 + sizeof(struct vhost_user_mem_region) &&
		       size <= sizeof(struct vhost_user_memory) &&
		       (size - 8) % sizeof(struct vhost_user_mem_region) == 0;
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_REM_MEM_REG:
		return size == sizeof(struct vhost_user_mem_reg_msg);
	case VHOST_USER_SET_LOG_BASE:
		return size == sizeof(struct vhost_user_log);
	case VHOST_USER_IOTLB_MSG:
		return size == sizeof(struct vhost_iotlb_msg);
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		return size >= VHOST_USER_CONFIG_HDR_SIZE &&
		       size <= sizeof(struct vhost_user_config);
	case VHOST_USER_GET_INFLIGHT_FD:
	case VHOST_USER_SET_INFLIGHT_FD:
		return size == sizeof(struct vhost_user_inflight);
	case VHOST_USER_GET_SHARED_OBJECT:
		return size == sizeof(struct vhost_user_shared);
	case VHOST_USER_SET_DEVICE_STATE_FD:
		return size == sizeof(struct vhost_user_transfer_state);
	default:
		/* crypto sessions are device-specific and not implemented */
		return false;
	}
}

bool vhost_user_backend_request_size_ok(uint32_t request, uint32_t size)
{
	switch (request) {
	case VHOST_USER_BACKEND_IOTLB_MSG:
		return size == sizeof(struct vhost_iotlb_msg);
	case VHOST_USER_BACKEND_CONFIG_CHANGE_MSG:
		return size == 0;
	case VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG:
		return size == sizeof(struct vhost_user_vring_area);
	case VHOST_USER_BACKEND_VRING_CALL:
	case VHOST_USER_BACKEND_VRING_ERR:
		return size == sizeof(struct vhost_vring_state);
	case VHOST_USER_BACKEND_SHARED_OBJECT_ADD:
	case VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE:
	case VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP:
		return size == sizeof(struct vhost_user_shared);
	default:
		return false;
	}
}
