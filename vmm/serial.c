#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kvm/vm.h"
#include "lib/log.h"
#include "vmm/serial.h"

enum {
	REG_RBR_THR = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3,
	REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7,
};

#define IER_RDI   0x01
#define IER_THRI  0x02
#define IIR_NO_INT 0x01
#define IIR_THRI  0x02
#define IIR_RDI   0x04
#define IIR_FIFO  0xc0
#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RCVR  0x02
#define LCR_DLAB  0x80
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80

void serial_init(struct serial *s, struct vm *vm, unsigned irq, int out_fd)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->vm = vm;
	s->irq = irq;
	s->out_fd = out_fd;
	s->lcr = 0x03;        /* 8N1, as after reset */
	s->mcr = 0x08;        /* OUT2 */
}

void serial_destroy(struct serial *s)
{
	serial_flush(s);
	pthread_mutex_destroy(&s->lock);
}

int serial_attach(struct serial *s, uint16_t base)
{
	return bus_register(&s->vm->pio, base, 8, serial_io, s);
}

static void flush_locked(struct serial *s)
{
	size_t done = 0;

	while (done < s->tx_len && s->out_fd >= 0) {
		ssize_t n = write(s->out_fd, s->tx + done, s->tx_len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Nobody is reading our stdout any more; the guest
			 * must not stall on it. */
			s->out_fd = -1;
			break;
		}
		done += n;
	}
	s->tx_len = 0;
}

void serial_flush(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	flush_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static uint8_t iir_locked(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thre_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

/* ISA interrupts are edge-triggered at the IOAPIC; driving the line as a
 * level that follows the IIR gives an edge for every new cause, as QEMU's
 * UART does. */
static void update_irq_locked(struct serial *s)
{
	bool level = !(iir_locked(s) & IIR_NO_INT);

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (s->vm)
		vm_irq_line(s->vm, s->irq, level);
}

static void rx_push_locked(struct serial *s, uint8_t c)
{
	if (s->rx_count == SERIAL_RX_SIZE) {
		if (!s->rx_overflow_warned)
			pr_warn("serial: guest is not reading its console; input dropped");
		s->rx_overflow_warned = true;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_SIZE] = c;
	s->rx_count++;
}

static uint8_t rx_pop_locked(struct serial *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_SIZE;
	s->rx_count--;
	return c;
}

static void write_reg(struct serial *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		if (s->mcr & MCR_LOOP) {
			rx_push_locked(s, v);
		} else {
			s->tx[s->tx_len++] = v;
			if (s->tx_len == SERIAL_TX_BATCH)
				flush_locked(s);
		}
		/* Transmission is instantaneous: THR is empty again. */
		s->thre_pending = true;
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with an empty THR raises it at once; Linux's
		 * start_tx relies on that. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thre_pending = true;
		s->ier = v & 0x0f;
		break;
	case REG_IIR_FCR:
		if (v & FCR_CLEAR_RCVR)
			s->rx_head = s->rx_count = 0;
		s->fcr = v & 0xc9;
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & 0x1f;
		break;
	case REG_SCR:
		s->scr = v;
		break;
	default:   /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t read_reg(struct serial *s, unsigned reg)
{
	uint8_t v = 0;

	switch (reg) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		return rx_pop_locked(s);
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR_FCR:
		v = iir_locked(s);
		/* Reading IIR acknowledges a THR-empty interrupt, and means the
		 * driver finished a burst: a good moment to write it out. */
		if ((v & 0x0f) == IIR_THRI)
			s->thre_pending = false;
		flush_locked(s);
		return v;
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		/* Polling LSR is how the kernel console waits per character. */
		flush_locked(s);
		return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
	case REG_MSR:
		if (s->mcr & MCR_LOOP) {
			/* Loopback wires RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD;
			 * Linux's probe checks exactly this. */
			if (s->mcr & 0x02) v |= MSR_CTS;
			if (s->mcr & 0x01) v |= MSR_DSR;
			if (s->mcr & 0x04) v |= MSR_RI;
			if (s->mcr & 0x08) v |= MSR_DCD;
			return v;
		}
		return MSR_DCD | MSR_DSR | MSR_CTS;
	case REG_SCR:
		return s->scr;
	}
	return 0xff;
}

void serial_io(void *opaque, uint64_t offset, void *data, unsigned len,
	       bool is_write)
{
	struct serial *s = opaque;
	uint8_t *p = data;

	pthread_mutex_lock(&s->lock);
	if (is_write)
		write_reg(s, offset & 7, p[0]);
	else
		p[0] = read_reg(s, offset & 7);
	/* Wider accesses are not meaningful on a byte-wide UART. */
	if (!is_write && len > 1)
		memset(p + 1, 0xff, len - 1);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < len; i++)
		rx_push_locked(s, buf[i]);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
	return len;
}
