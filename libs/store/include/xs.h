/*
 * xs.h: old name of xenstore.h, kept so that older programs build.
 * New code includes <xenstore.h>.
 */
#warning xs.h is deprecated, include xenstore.h instead
#include <xenstore.h>
