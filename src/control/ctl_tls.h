/*
 * ctl_tls: the control channel's certificates and key pins (docs/SECURITY.md),
 * through OpenSSL. libwebsockets carries TLS itself; this module only makes
 * the self-signed certificate lanrage-control uses when it is given none,
 * and computes and compares pins.
 *
 * A pin is "sha256/" followed by the base64 (with padding) of the SHA-256 of
 * the certificate's SubjectPublicKeyInfo in DER, the form HPKP and curl's
 * --pinnedpubkey use. It names the server's key, not its certificate, so a
 * certificate renewed on the same key keeps its pin.
 */
#ifndef LR_CONTROL_CTL_TLS_H
#define LR_CONTROL_CTL_TLS_H

#include <stdbool.h>
#include <stdint.h>

enum {
	CTL_TLS_PIN_LEN = 7 + 44, /* "sha256/" + base64 of 32 bytes */
};

/* Writes a new EC P-256 key (mode 0600) and a self-signed certificate for
 * common_name, valid ten years, to the two paths; neither may exist yet.
 * 0 or a negative errno (-EEXIST, -EIO for an OpenSSL failure). */
int ctl_tls_make_selfsigned(const char *cert_path, const char *key_path,
			    const char *common_name);

/* The pin of the PEM certificate at path. 0, -ENOENT or -EBADMSG. */
int ctl_tls_pin_of_file(const char *cert_path, char out[CTL_TLS_PIN_LEN + 1]);

/* The pin of an OpenSSL X509 (passed as void so callers need no OpenSSL
 * header). 0 or -EBADMSG. */
int ctl_tls_pin_of_x509(const void *x509, char out[CTL_TLS_PIN_LEN + 1]);

/* 0 when s is a well-formed pin ("sha256/" + base64 of 32 bytes), else
 * -EINVAL. */
int ctl_tls_pin_check(const char *s);

/* Constant-time comparison of two well-formed pins. */
bool ctl_tls_pin_equal(const char *a, const char *b);

#endif
