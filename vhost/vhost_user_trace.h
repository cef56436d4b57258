/* The vhost-user protocol trace: every message in both directions,
 * decoded, one line each (memory regions on lines of their own), with the
 * round-trip time of replies. Users debug back-ends with it, so it names
 * things the way the spec does. */
#ifndef VHOST_VHOST_USER_TRACE_H
#define VHOST_VHOST_USER_TRACE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vhost/vhost_user_proto.h"

/* Whether -trace patterns (as given on the command line, each "PATTERN"
 * or "enable=PATTERN", '-' or '_' alike, a leading '-' disabling, the last
 * match winning as in QEMU) turn on our events: "vhost_user" (the whole
 * trace), "vhost_user_msg" (main socket), "vhost_user_backend_req"
 * (back-end channel). So "-trace vhost-user", "-trace vhost_user*" and
 * "-trace enable=vhost_user_msg" all work. */
bool vhost_user_trace_enabled(const char *const *patterns, int n);

/* Appends "0x175000000 [NOTIFY_ON_EMPTY LOG_ALL ...]" to buf. Virtio
 * features name the transport bits and show device bits as "bitN";
 * protocol features name bits 0-19. Returns strlen(buf). */
size_t vhost_user_format_features(char *buf, size_t len, uint64_t features);
size_t vhost_user_format_protocol_features(char *buf, size_t len,
					   uint64_t features);
/* "0xf [ACKNOWLEDGE DRIVER DRIVER_OK FEATURES_OK]" */
size_t vhost_user_format_status(char *buf, size_t len, uint64_t status);

enum vhost_user_trace_dir {
	VHOST_USER_TRACE_SEND, /* "->": we wrote it */
	VHOST_USER_TRACE_RECV, /* "<-": we read it */
};

/* One message. channel is NULL for the main socket, "backend-req" for the
 * back-end channel (whose ids are the back-end request ids). rtt_us < 0:
 * not a reply we timed. note, if not NULL, ends the line ("REJECTED: ..."). */
void vhost_user_trace_msg(FILE *f, const char *name, const char *channel,
			  enum vhost_user_trace_dir dir,
			  const struct vhost_user_msg *msg, const int *fds,
			  int nfds, long long rtt_us, const char *note);

/* A free-form line: "vhost-user NAME: ..." (connections, errors). */
void vhost_user_trace_note(FILE *f, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
