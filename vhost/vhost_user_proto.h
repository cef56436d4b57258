/* The vhost-user wire format, as in QEMU's docs/interop/vhost-user.rst:
 * message ids in both directions, protocol feature bits 0-19, the header
 * and every payload layout, plus their names for the protocol trace.
 *
 * Pure data: nothing here does I/O. All numbers are host byte order, as the
 * protocol says. The kernel's vhost structs (vring state/addr, IOTLB) are
 * reused where the layout is identical, so the two never drift apart. */
#ifndef VHOST_VHOST_USER_PROTO_H
#define VHOST_VHOST_USER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vhost_types.h>

/* Front-end -> back-end requests (the main socket). */
enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21, /* was SET_SLAVE_REQ_FD */
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_POSTCOPY_ADVISE = 28,
	VHOST_USER_POSTCOPY_LISTEN = 29,
	VHOST_USER_POSTCOPY_END = 30,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_GPU_SET_SOCKET = 33,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_VRING_KICK = 35,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_GET_SHARED_OBJECT = 41,
	VHOST_USER_SET_DEVICE_STATE_FD = 42,
	VHOST_USER_CHECK_DEVICE_STATE = 43,
	VHOST_USER_MAX_REQUEST = 43,
};

/* Back-end -> front-end requests (the SET_BACKEND_REQ_FD socket). */
enum vhost_user_backend_request {
	VHOST_USER_BACKEND_NONE = 0,
	VHOST_USER_BACKEND_IOTLB_MSG = 1,
	VHOST_USER_BACKEND_CONFIG_CHANGE_MSG = 2,
	VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
	VHOST_USER_BACKEND_VRING_CALL = 4,
	VHOST_USER_BACKEND_VRING_ERR = 5,
	VHOST_USER_BACKEND_SHARED_OBJECT_ADD = 6,
	VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE = 7,
	VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP = 8,
	VHOST_USER_BACKEND_MAX_REQUEST = 8,
};

/* Virtio feature bit 30 (legacy "UNUSED"): the back-end speaks protocol
 * features. The guest never sees or acks it; the front-end adds it to
 * SET_FEATURES itself. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). Bits >= 20 exist in
 * newer specs with conflicting assignments between implementations; we
 * neither name nor negotiate them. */
enum vhost_user_protocol_feature {
	VHOST_USER_PROTOCOL_F_MQ = 0,
	VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1,
	VHOST_USER_PROTOCOL_F_RARP = 2,
	VHOST_USER_PROTOCOL_F_REPLY_ACK = 3,
	VHOST_USER_PROTOCOL_F_MTU = 4,
	VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5,
	VHOST_USER_PROTOCOL_F_CROSS_ENDIAN = 6,
	VHOST_USER_PROTOCOL_F_CRYPTO_SESSION = 7,
	VHOST_USER_PROTOCOL_F_PAGEFAULT = 8,
	VHOST_USER_PROTOCOL_F_CONFIG = 9,
	VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10,
	VHOST_USER_PROTOCOL_F_HOST_NOTIFIER = 11,
	VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD = 12,
	VHOST_USER_PROTOCOL_F_RESET_DEVICE = 13,
	VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS = 14,
	VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
	VHOST_USER_PROTOCOL_F_STATUS = 16,
	VHOST_USER_PROTOCOL_F_XEN_MMAP = 17,
	VHOST_USER_PROTOCOL_F_SHARED_OBJECT = 18,
	VHOST_USER_PROTOCOL_F_DEVICE_STATE = 19,
	VHOST_USER_PROTOCOL_F_NBITS = 20,
};

#define VHOST_USER_PROTOCOL_F_ALL ((1ULL << VHOST_USER_PROTOCOL_F_NBITS) - 1)

/* Header flags: bits 0-1 version, bit 2 reply, bit 3 need_reply. */
#define VHOST_USER_VERSION         0x1u
#define VHOST_USER_VERSION_MASK    0x3u
#define VHOST_USER_REPLY_MASK      (1u << 2)
#define VHOST_USER_NEED_REPLY_MASK (1u << 3)
/* The only flags value a reply may carry. */
#define VHOST_USER_REPLY_FLAGS     (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK)

/* SET_VRING_KICK/CALL/ERR u64: bits 0-7 queue index, bit 8 "no fd". */
#define VHOST_USER_VRING_IDX_MASK  0xffu
#define VHOST_USER_VRING_NOFD_MASK (1u << 8)

/* QEMU's limits, which libvhost-user back-ends share: fds per message,
 * regions per SET_MEM_TABLE, bytes of device config per message. */
#define VHOST_USER_MAX_FDS         8
#define VHOST_USER_MEMORY_MAX_NREGIONS 8
#define VHOST_USER_MAX_CONFIG_SIZE 256
/* Cap on GET_MAX_MEM_SLOTS, as QEMU on x86. */
#define VHOST_USER_MAX_RAM_SLOTS   512

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes that follow */
};

struct vhost_user_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

/* SET_MEM_TABLE; only the first nregions entries go on the wire. */
struct vhost_user_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MEMORY_MAX_NREGIONS];
};

/* ADD_MEM_REG / REM_MEM_REG */
struct vhost_user_mem_reg_msg {
	uint64_t padding;
	struct vhost_user_mem_region region;
};

struct vhost_user_log {
	uint64_t mmap_size;
	uint64_t mmap_offset;
};

/* GET_CONFIG / SET_CONFIG; only size bytes of region go on the wire. */
#define VHOST_USER_CONFIG_HDR_SIZE 12u
#define VHOST_USER_CONFIG_FLAG_WRITABLE 0u
#define VHOST_USER_CONFIG_FLAG_MIGRATION 1u
struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
};

/* BACKEND_VRING_HOST_NOTIFIER_MSG */
struct vhost_user_vring_area {
	uint64_t u64; /* queue index | NOFD */
	uint64_t size;
	uint64_t offset;
};

struct vhost_user_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
};

struct vhost_user_shared {
	uint8_t uuid[16];
};

struct vhost_user_transfer_state {
	uint32_t direction; /* 0 save, 1 load */
	uint32_t phase;     /* 0 stopped */
};

union vhost_user_payload {
	uint64_t u64;
	struct vhost_vring_state state;
	struct vhost_vring_addr addr;
	struct vhost_user_memory memory;
	struct vhost_user_mem_reg_msg mem_reg;
	struct vhost_user_log log;
	struct vhost_iotlb_msg iotlb;
	struct vhost_user_config config;
	struct vhost_user_vring_area area;
	struct vhost_user_inflight inflight;
	struct vhost_user_shared object;
	struct vhost_user_transfer_state transfer_state;
};

/* Header and payload are kept apart in memory (sent with two iovecs), so
 * the payload stays naturally aligned without a packed struct. */
struct vhost_user_msg {
	struct vhost_user_hdr hdr;
	union vhost_user_payload payload;
};

#define VHOST_USER_HDR_SIZE     sizeof(struct vhost_user_hdr)
#define VHOST_USER_PAYLOAD_MAX  sizeof(union vhost_user_payload)

_Static_assert(sizeof(struct vhost_user_hdr) == 12, "header is 12 bytes");
_Static_assert(sizeof(struct vhost_vring_state) == 8, "vring state");
_Static_assert(sizeof(struct vhost_vring_addr) == 40, "vring addr");
_Static_assert(sizeof(struct vhost_iotlb_msg) == 32, "iotlb msg");
_Static_assert(sizeof(struct vhost_user_mem_region) == 32, "mem region");
_Static_assert(sizeof(struct vhost_user_memory) == 8 + 8 * 32, "memory");
_Static_assert(sizeof(struct vhost_user_mem_reg_msg) == 40, "mem reg msg");
_Static_assert(sizeof(struct vhost_user_config) == 12 + 256, "config");
_Static_assert(sizeof(struct vhost_user_vring_area) == 24, "vring area");
_Static_assert(sizeof(struct vhost_user_inflight) == 24, "inflight");

/* Names without the VHOST_USER_ prefix ("GET_FEATURES"); NULL if the id
 * is not one the spec defines. */
const char *vhost_user_request_name(uint32_t request);
const char *vhost_user_backend_request_name(uint32_t request);
/* "MQ", "REPLY_ACK", ...; NULL for bits we do not know. */
const char *vhost_user_protocol_feature_name(unsigned bit);
/* Transport-level virtio feature bits (24-41) and the vhost-only bits 26
 * (LOG_ALL) and 30 (PROTOCOL_FEATURES); NULL for device-specific bits. */
const char *vhost_user_virtio_feature_name(unsigned bit);

/* Whether the back-end must answer request even without NEED_REPLY, and
 * the payload sizes a well-formed request/reply of that id may have.
 * Used by both ends to validate what they read. Returns false for ids we
 * do not implement. */
bool vhost_user_request_has_reply(uint32_t request);
bool vhost_user_request_size_ok(uint32_t request, uint32_t size);
bool vhost_user_backend_request_size_ok(uint32_t request, uint32_t size);

#endif
