#ifndef TONGBAN_CLIBPQ_SHIM_H
#define TONGBAN_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
