#include <wcslib/wcslib.h>
