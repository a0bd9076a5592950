#ifndef TONGBAN_CQRENCODE_SHIM_H
#define TONGBAN_CQRENCODE_SHIM_H
#include <qrencode.h>
#endif
