/* budget.h - the in-flight byte budget (--max-inflight-bytes): request
 * bodies held and answers not yet sent, bounded together so that many
 * concurrent big requests get 503 instead of exhausting memory. */
#ifndef LEAKYCLD_BUDGET_H
#define LEAKYCLD_BUDGET_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct lkd_budget {
  atomic_size_t used; /* bytes reserved now */
  atomic_size_t peak; /* the most used since the last housekeeping */
  size_t limit;
} lkd_budget;

/* A quarter of the memory this process may use: the smaller of physical
 * memory and its cgroup's limit (a container's). */
size_t lkd_budget_default(void);

void lkd_budget_init(lkd_budget *b, size_t limit);

/* Reserves n more bytes for a request that holds `own` already, when they
 * fit under the limit or when nothing else is reserved (a lone request
 * bigger than the budget still runs: --max-body bounds it); 0, or -1 with
 * nothing reserved. */
int lkd_budget_take(lkd_budget *b, size_t own, size_t n);

/* Reserves n bytes whatever the limit: memory already committed (an
 * answer built from a body that was admitted). */
void lkd_budget_charge(lkd_budget *b, size_t n);

/* Gives back n bytes of an earlier reservation. */
void lkd_budget_give(lkd_budget *b, size_t n);

/* Bytes reserved now. */
size_t lkd_budget_used(lkd_budget *b);

/* Gives memory back to the system after a burst of big requests; called
 * a few times a second: unmaps the buffer pool's blocks idle for a few
 * seconds, and trims malloc's arenas once a burst is over. */
void lkd_budget_housekeep(lkd_budget *b);

#endif
