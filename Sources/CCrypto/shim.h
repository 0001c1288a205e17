#ifndef DATAPIN_CCRYPTO_SHIM_H
#define DATAPIN_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/err.h>

/* EVP_MD_CTX_size and friends are macros in OpenSSL 3; Swift sees functions only. */
static inline int datapin_evp_md_ctx_size(const EVP_MD_CTX *ctx) {
    return EVP_MD_get_size(EVP_MD_CTX_get0_md(ctx));
}
#endif
