/*
 * fuzz_uapi: the UAPI request parser and its apply/get paths on an in-memory
 * device. Every input is one request; after each, a get must still produce a
 * well-formed reply. The device is recreated every 512 inputs so state stays
 * bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wg/wg.h"

static int sink_send(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	return 0;
}

static int sink_bind(void *ctx, uint16_t port, uint16_t *bound)
{
	if (port == 1)
		return -98; /* exercise the "port in use" path */
	*bound = port;
	return 0;
}

static const struct wg_io_ops ops = { sink_send, NULL, sink_bind, NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wg_device *dev;
	static unsigned runs;
	char *reply = NULL;

	if (!dev || ++runs % 512 == 0) {
		wg_device_free(dev);
		if (wg_device_new(&dev, &ops, NULL))
			abort();
	}
	if (!wg_device_uapi(dev, (const char *)data, size, &reply)) {
		if (!reply || !strstr(reply, "errno="))
			abort();
		free(reply);
	}
	if (wg_device_uapi(dev, "get=1\n\n", 7, &reply) || !strstr(reply, "errno=0\n\n"))
		abort();
	free(reply);
	return 0;
}
