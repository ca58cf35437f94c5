/* The trace read ahead on its own thread (trace_pipe.h): a ring of units the
 * thread fills in order and the caller takes in order. The caller holds the
 * unit it took until its next call, so the thread never writes a batch the
 * caller still reads. Without a thread (none to be had) the same calls read
 * the trace in the caller's own thread. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "trace/trace_pipe.h"

/* Units read ahead. Each holds a batch (NW_TRACE_BATCH accesses); a few
 * keep the thread ahead of a replay that runs at a similar speed. */
#define SLOTS 8
/* Polls of the ring before the caller sleeps for the next unit: decoding a
 * unit takes a few microseconds, about what a sleep and a wake-up cost. */
#define SPINS 4000

struct slot {
	struct nw_trace_unit unit;
	struct nw_trace_batch batch;
};

struct nw_trace_pipe {
	struct nw_trace_reader *reader;
	struct slot *slots;   /* SLOTS of them, a ring */
	bool threaded;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t filled, emptied;
	uint64_t head, tail;  /* units filled, units the caller is done with */
	bool held;            /* the caller holds slots[tail % SLOTS] */
	bool stop;            /* the caller stops the thread */
	bool ended;           /* the caller took the END unit: it is all there is */
	struct nw_trace_unit end;
};

/* Reads the next unit into s, as the caller's loop would read it. */
static void fill(struct nw_trace_reader *reader, struct slot *s)
{
	struct nw_trace_unit *u = &s->unit;
	int got;

	if (nw_trace_reader_batch(reader, &s->batch)) {
		u->kind = NW_TRACE_UNIT_BATCH;
		u->batch = &s->batch;
	} else if ((got = nw_trace_reader_next(reader, &u->record)) > 0) {
		u->kind = NW_TRACE_UNIT_RECORD;
		u->batch = NULL;
	} else {
		u->kind = NW_TRACE_UNIT_END;
		u->batch = NULL;
		u->error = got < 0;
	}
	u->records = nw_trace_reader_records(reader);
}

static void *produce(void *arg)
{
	struct nw_trace_pipe *p = arg;

	for (;;) {
		struct slot *s;
		bool end;

		pthread_mutex_lock(&p->lock);
		while (__atomic_load_n(&p->head, __ATOMIC_RELAXED) - p->tail >= SLOTS && !p->stop)
			pthread_cond_wait(&p->emptied, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		s = &p->slots[p->head % SLOTS];
		pthread_mutex_unlock(&p->lock);
		fill(p->reader, s); /* the slot is no one else's until head moves past it */
		end = s->unit.kind == NW_TRACE_UNIT_END;
		pthread_mutex_lock(&p->lock);
		__atomic_store_n(&p->head, p->head + 1, __ATOMIC_RELEASE); /* the caller may poll it unlocked */
		pthread_cond_signal(&p->filled);
		pthread_mutex_unlock(&p->lock);
		if (end)
			return NULL;
	}
}

struct nw_trace_pipe *nw_trace_pipe_start(struct nw_trace_reader *reader)
{
	struct nw_trace_pipe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->reader = reader;
	p->slots = calloc(SLOTS, sizeof(*p->slots));
	if (!p->slots) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->emptied, NULL);
	p->threaded = pthread_create(&p->thread, NULL, produce, p) == 0;
	return p;
}

void nw_trace_pipe_next(struct nw_trace_pipe *p, struct nw_trace_unit *unit)
{
	struct slot *s;

	if (p->ended) {
		*unit = p->end;
		return;
	}
	if (!p->threaded) {
		fill(p->reader, &p->slots[0]);
		s = &p->slots[0];
	} else {
		pthread_mutex_lock(&p->lock);
		if (p->held) {
			p->tail++;
			p->held = false;
			pthread_cond_signal(&p->emptied);
		}
		pthread_mutex_unlock(&p->lock);
		for (unsigned spin = 0; __atomic_load_n(&p->head, __ATOMIC_ACQUIRE) == p->tail && spin < SPINS; spin++)
			continue;
		pthread_mutex_lock(&p->lock);
		while (__atomic_load_n(&p->head, __ATOMIC_ACQUIRE) == p->tail)
			pthread_cond_wait(&p->filled, &p->lock);
		s = &p->slots[p->tail % SLOTS];
		p->held = true;
		pthread_mutex_unlock(&p->lock);
	}
	*unit = s->unit;
	if (unit->kind == NW_TRACE_UNIT_END) {
		p->end = *unit;
		p->ended = true;
	}
}

void nw_trace_pipe_stop(struct nw_trace_pipe *p)
{
	if (!p)
		return;
	if (p->threaded) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_signal(&p->emptied);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	pthread_cond_destroy(&p->emptied);
	pthread_cond_destroy(&p->filled);
	pthread_mutex_destroy(&p->lock);
	free(p->slots);
	free(p);
}
