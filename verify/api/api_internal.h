/* api_internal.h: what the job API's files share. */
#ifndef SZARC_API_INTERNAL_H
#define SZARC_API_INTERNAL_H

#include "szarc.h"

struct szarc_engine_share;

/*! szarc_resident_share() : the shared engine of r, or NULL when r is NULL. */
struct szarc_engine_share *szarc_resident_share(szarc_resident *r);

#endif
