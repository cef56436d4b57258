/* A 16550A UART (COM1 at 0x3f8, IRQ 4): the guest's console. */
#ifndef VMM_SERIAL_H
#define VMM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

#define SERIAL_COM1_PORT 0x3f8
#define SERIAL_COM1_IRQ  4
#define SERIAL_RX_SIZE   4096
#define SERIAL_TX_BATCH  16      /* the 16550A's FIFO depth */

struct serial {
	pthread_mutex_t lock;  /* vCPU threads vs. the input thread */
	struct vm *vm;
	unsigned irq;
	int out_fd;            /* -1: output discarded */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_pending;     /* THR-empty interrupt not yet acknowledged */
	bool irq_level;
	uint8_t rx[SERIAL_RX_SIZE];
	unsigned rx_head, rx_count;
	bool rx_overflow_warned;
	uint8_t tx[SERIAL_TX_BATCH];
	unsigned tx_len;
};

/* vm may be NULL (tests): interrupts are then only tracked in irq_level. */
void serial_init(struct serial *s, struct vm *vm, unsigned irq, int out_fd);
void serial_destroy(struct serial *s);
/* Registers the 8 ports at base on the VM's port bus. */
int serial_attach(struct serial *s, uint16_t base);
/* Port access at offset 0-7, as the bus delivers it. */
void serial_io(void *opaque, uint64_t offset, void *data, unsigned len,
	       bool is_write);
/* Input from the host side; returns how many bytes were queued. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);
/* Writes out anything buffered. */
void serial_flush(struct serial *s);

#endif
