/*
 * control.h: XS_CONTROL commands (help, check, print, memreport, quota,
 * quota-soft); the others go to engine_ops.control.
 */
#ifndef XENSTORED_CONTROL_H
#define XENSTORED_CONTROL_H

#include "core.h"

void control_do(struct req *r);

#endif /* XENSTORED_CONTROL_H */
