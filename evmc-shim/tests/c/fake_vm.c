/*
 * A stand-in EVMC VM for the loader tests, compiled into several variants:
 *   CREATE_FN=name   the entry point's name (unless GENERIC_ENTRY: then "evmc_create")
 *   ABI=n            the abi_version it reports (default 12)
 *   CAPS=n           its capabilities (default EVM1)
 *   RETURN_NULL      the entry point fails
 *   NO_EXECUTE       execute is NULL
 *   NO_SET_OPTION    set_option is NULL
 * Its execute returns REVERT with gas_left = gas - 1 and the output "fake" in a malloc'ed
 * buffer freed by the result's release; fake_releases() counts the releases.
 */
#include "ember_evmc.h"

#include <stdlib.h>
#include <string.h>

#ifndef ABI
#define ABI EVMC_ABI_VERSION
#endif
#ifndef CAPS
#define CAPS EVMC_CAPABILITY_EVM1
#endif

/* Some variants leave some functions out of the VM. */
#define MAYBE_UNUSED __attribute__((unused))

static int releases = 0;

int fake_releases(void);
int fake_releases(void)
{
    return releases;
}

static void release(const struct evmc_result* r)
{
    free((void*)r->output_data);
    ++releases;
}

MAYBE_UNUSED static struct evmc_result execute(struct evmc_vm* vm, const struct evmc_host_interface* host,
                                  struct evmc_host_context* ctx, enum evmc_revision rev,
                                  const struct evmc_message* msg, const uint8_t* code,
                                  size_t code_size)
{
    (void)vm;
    (void)host;
    (void)ctx;
    (void)rev;
    (void)code;
    (void)code_size;
    struct evmc_result r;
    memset(&r, 0, sizeof r);
    uint8_t* out = malloc(4);
    if (!out) {
        r.status_code = EVMC_OUT_OF_MEMORY;
        return r;
    }
    memcpy(out, "fake", 4);
    r.status_code = EVMC_REVERT;
    r.gas_left = msg->gas - 1;
    r.output_data = out;
    r.output_size = 4;
    r.release = release;
    return r;
}

MAYBE_UNUSED static void destroy(struct evmc_vm* vm)
{
    (void)vm;
}

MAYBE_UNUSED static evmc_capabilities_flagset get_capabilities(struct evmc_vm* vm)
{
    (void)vm;
    return CAPS;
}

MAYBE_UNUSED static enum evmc_set_option_result set_option(struct evmc_vm* vm, const char* name,
                                              const char* value)
{
    (void)vm;
    (void)name;
    (void)value;
    return EVMC_SET_OPTION_SUCCESS;
}

#ifdef GENERIC_ENTRY
#undef CREATE_FN
#define CREATE_FN evmc_create
#endif

struct evmc_vm* CREATE_FN(void);
struct evmc_vm* CREATE_FN(void)
{
#ifdef RETURN_NULL
    return NULL;
#else
    static struct evmc_vm vm = {
        ABI,
        "fake",
        "0.0.1",
        destroy,
#ifdef NO_EXECUTE
        NULL,
#else
        execute,
#endif
        get_capabilities,
#ifdef NO_SET_OPTION
        NULL,
#else
        set_option,
#endif
    };
    return &vm;
#endif
}
