/*
 * settings.c - the daemon's settings (settings.h), filled in by main.
 */
#include "settings.h"

struct config config;
