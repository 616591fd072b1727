/* web/sha256.h — SHA-256 (FIPS 180-4) of a buffer, as lower-case hex. */
#ifndef FS_WEB_SHA256_H
#define FS_WEB_SHA256_H
#include <stddef.h>
void web_sha256(const void *data, size_t len, unsigned char out[32]);
void web_sha256_hex(const void *data, size_t len, char out[65]);
#endif
