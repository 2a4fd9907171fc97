/*
 * xs_lib.h: old name of xenstore_lib.h, kept so that older programs build.
 * New code includes <xenstore_lib.h>.
 */
#warning xs_lib.h is deprecated, include xenstore_lib.h instead
#include <xenstore_lib.h>
