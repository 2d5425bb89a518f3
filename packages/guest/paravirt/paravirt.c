/*
 * The live op table. Boot copies native_ops or lguest_ops into it before any other C runs,
 * so a call through pv_ops never meets an empty slot.
 */
#include <paravirt.h>

struct paravirt_ops pv_ops;

/* entry.S jumps through pv_ops + PV_OPS_iret. */
_Static_assert(__builtin_offsetof(struct paravirt_ops, iret) == PV_OPS_iret, "PV_OPS_iret is stale");
