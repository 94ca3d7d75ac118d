/* sqz/sqz.h - the public API of libsqz. */
#ifndef SQZ_SQZ_H
#define SQZ_SQZ_H

#include "sqz/status.h"
#include "sqz/tensor.h"
#include "sqz/graph.h"
#include "sqz/session.h"
#include "sqz/io.h"
#include "sqz/analysis.h"

#define SQZ_VERSION "0.1.0"

#endif
