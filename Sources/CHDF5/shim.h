// Debian's serial HDF5 (libhdf5-dev): the include and library paths come from pkg-config's hdf5.pc
// (-I/usr/include/hdf5/serial, -L/usr/lib/x86_64-linux-gnu/hdf5/serial).
#include <hdf5.h>

// HDF5's predefined types, property-list classes and flags are macros that call H5open() and read a
// global (`(H5OPEN H5T_NATIVE_INT64_g)`), which Swift does not import: these functions return them.
static inline hid_t dcprod_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t dcprod_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t dcprod_h5s_all(void) { return H5S_ALL; }
static inline hsize_t dcprod_h5s_unlimited(void) { return H5S_UNLIMITED; }
static inline unsigned dcprod_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline hid_t dcprod_h5t_std_i8le(void) { return H5T_STD_I8LE; }
static inline hid_t dcprod_h5t_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t dcprod_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t dcprod_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t dcprod_h5t_c_s1(void) { return H5T_C_S1; }

#include <stdio.h>

// Errors: HDF5 prints its error stack on stderr unless told not to; dcprod says one line instead, with
// the innermost error's words, which these functions fetch.
static inline void dcprod_h5e_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

struct dcprod_h5e_text { char *buffer; size_t size; };

static herr_t dcprod_h5e_innermost(unsigned n, const H5E_error2_t *error, void *data) {
    struct dcprod_h5e_text *text = (struct dcprod_h5e_text *)data;
    if (n == 0 && error->desc) snprintf(text->buffer, text->size, "%s (%s)", error->desc, error->func_name);
    return 0;
}

/// The innermost error of the current stack as text (empty when there is none).
static inline void dcprod_h5e_message(char *buffer, size_t size) {
    struct dcprod_h5e_text text = { buffer, size };
    if (size > 0) buffer[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, dcprod_h5e_innermost, &text);
}
