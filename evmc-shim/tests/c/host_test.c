/*
 * A minimal EVMC host in C that loads libember.so with dlopen and drives it through the ABI.
 *
 * usage: host_test PATH/TO/libember.so EXPECTED_VERSION
 *
 * Prints one line per check and exits 0 only if all of them pass. Gas figures are derived
 * by hand in the comments next to each program (Cancun schedule, EIP-2929 access costs).
 */
#include "ember_evmc.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                            \
    do {                                                                       \
        ++checks;                                                              \
        if (!(cond)) {                                                         \
            ++failures;                                                        \
            fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                      \
    } while (0)

#define CHECK_EQ_I64(a, b)                                                            \
    do {                                                                              \
        long long a_ = (long long)(a), b_ = (long long)(b);                           \
        ++checks;                                                                     \
        if (a_ != b_) {                                                               \
            ++failures;                                                               \
            fprintf(stderr, "FAILED %s:%d: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, \
                    #a, #b, a_, b_);                                                  \
        }                                                                             \
    } while (0)

/* ---------------------------------------------------------------- the host's world */

#define MAX_SLOTS 16
#define MAX_LOGS 4

struct slot {
    evmc_address addr;
    evmc_bytes32 key;
    evmc_bytes32 original; /* value at the start of the transaction */
    evmc_bytes32 current;
    bool warm;
};

struct account {
    evmc_address addr;
    const uint8_t* code;
    size_t code_size;
    bool warm;
};

struct log_entry {
    evmc_address addr;
    uint8_t data[64];
    size_t data_size;
    evmc_bytes32 topics[4];
    size_t topics_count;
};

struct evmc_host_context {
    struct evmc_vm* vm;
    enum evmc_revision rev;
    struct account accounts[4];
    size_t num_accounts;
    struct slot slots[MAX_SLOTS];
    size_t num_slots;
    struct log_entry logs[MAX_LOGS];
    size_t num_logs;
    int nested_calls;
};

static bool is_zero(const evmc_bytes32* v)
{
    static const evmc_bytes32 zero;
    return memcmp(v, &zero, sizeof zero) == 0;
}

static bool eq32(const evmc_bytes32* a, const evmc_bytes32* b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static struct account* find_account(struct evmc_host_context* h, const evmc_address* a)
{
    for (size_t i = 0; i < h->num_accounts; ++i)
        if (memcmp(&h->accounts[i].addr, a, sizeof *a) == 0)
            return &h->accounts[i];
    return NULL;
}

static struct slot* find_slot(struct evmc_host_context* h, const evmc_address* a,
                              const evmc_bytes32* k, bool create)
{
    for (size_t i = 0; i < h->num_slots; ++i)
        if (memcmp(&h->slots[i].addr, a, sizeof *a) == 0 && eq32(&h->slots[i].key, k))
            return &h->slots[i];
    if (!create || h->num_slots == MAX_SLOTS)
        return NULL;
    struct slot* s = &h->slots[h->num_slots++];
    memset(s, 0, sizeof *s);
    s->addr = *a;
    s->key = *k;
    return s;
}

/* ---------------------------------------------------------------- host functions */

static bool account_exists(struct evmc_host_context* h, const evmc_address* a)
{
    return find_account(h, a) != NULL;
}

static evmc_bytes32 get_storage(struct evmc_host_context* h, const evmc_address* a,
                                const evmc_bytes32* k)
{
    const struct slot* s = find_slot(h, a, k, false);
    evmc_bytes32 zero = {{0}};
    return s ? s->current : zero;
}

/* EVMC's classification of a write, from the original, current and new values. */
static enum evmc_storage_status set_storage(struct evmc_host_context* h, const evmc_address* a,
                                            const evmc_bytes32* k, const evmc_bytes32* v)
{
    struct slot* s = find_slot(h, a, k, true);
    if (!s)
        abort();
    const evmc_bytes32 o = s->original, c = s->current;
    s->current = *v;
    if (eq32(&c, v))
        return EVMC_STORAGE_ASSIGNED;
    if (eq32(&o, &c)) {
        if (is_zero(&o))
            return EVMC_STORAGE_ADDED;
        return is_zero(v) ? EVMC_STORAGE_DELETED : EVMC_STORAGE_MODIFIED;
    }
    if (is_zero(&o))
        return is_zero(v) ? EVMC_STORAGE_ADDED_DELETED : EVMC_STORAGE_ASSIGNED;
    if (is_zero(&c))
        return eq32(v, &o) ? EVMC_STORAGE_DELETED_RESTORED : EVMC_STORAGE_DELETED_ADDED;
    if (is_zero(v))
        return EVMC_STORAGE_MODIFIED_DELETED;
    return eq32(v, &o) ? EVMC_STORAGE_MODIFIED_RESTORED : EVMC_STORAGE_ASSIGNED;
}

static evmc_uint256be get_balance(struct evmc_host_context* h, const evmc_address* a)
{
    (void)h;
    (void)a;
    evmc_uint256be zero = {{0}};
    return zero;
}

static size_t get_code_size(struct evmc_host_context* h, const evmc_address* a)
{
    const struct account* acc = find_account(h, a);
    return acc ? acc->code_size : 0;
}

static evmc_bytes32 get_code_hash(struct evmc_host_context* h, const evmc_address* a)
{
    (void)h;
    (void)a;
    evmc_bytes32 zero = {{0}};
    return zero;
}

static size_t copy_code(struct evmc_host_context* h, const evmc_address* a, size_t offset,
                        uint8_t* buf, size_t size)
{
    const struct account* acc = find_account(h, a);
    if (!acc || offset >= acc->code_size)
        return 0;
    size_t n = acc->code_size - offset < size ? acc->code_size - offset : size;
    memcpy(buf, acc->code + offset, n);
    return n;
}

static bool selfdestruct(struct evmc_host_context* h, const evmc_address* a,
                         const evmc_address* b)
{
    (void)h;
    (void)a;
    (void)b;
    return false;
}

/* A nested call is served by calling the same VM again; the result goes back as it is and
 * the calling VM releases it. */
static const struct evmc_host_interface host_interface;

static struct evmc_result call(struct evmc_host_context* h, const struct evmc_message* msg)
{
    ++h->nested_calls;
    const struct account* acc = find_account(h, &msg->code_address);
    return h->vm->execute(h->vm, &host_interface, h, h->rev, msg, acc ? acc->code : NULL,
                          acc ? acc->code_size : 0);
}

static struct evmc_tx_context get_tx_context(struct evmc_host_context* h)
{
    (void)h;
    struct evmc_tx_context tx;
    memset(&tx, 0, sizeof tx);
    tx.block_number = 1;
    tx.block_timestamp = 1000;
    tx.block_gas_limit = 30000000;
    tx.chain_id.bytes[31] = 1;
    return tx;
}

static evmc_bytes32 get_block_hash(struct evmc_host_context* h, int64_t number)
{
    (void)h;
    (void)number;
    evmc_bytes32 zero = {{0}};
    return zero;
}

static void emit_log(struct evmc_host_context* h, const evmc_address* a, const uint8_t* data,
                     size_t data_size, const evmc_bytes32 topics[], size_t topics_count)
{
    if (h->num_logs == MAX_LOGS || data_size > sizeof h->logs[0].data || topics_count > 4)
        abort();
    struct log_entry* l = &h->logs[h->num_logs++];
    l->addr = *a;
    if (data_size)
        memcpy(l->data, data, data_size);
    l->data_size = data_size;
    for (size_t i = 0; i < topics_count; ++i)
        l->topics[i] = topics[i];
    l->topics_count = topics_count;
}

static enum evmc_access_status access_account(struct evmc_host_context* h,
                                              const evmc_address* a)
{
    struct account* acc = find_account(h, a);
    if (!acc)
        return EVMC_ACCESS_COLD;
    bool was_warm = acc->warm;
    acc->warm = true;
    return was_warm ? EVMC_ACCESS_WARM : EVMC_ACCESS_COLD;
}

static enum evmc_access_status access_storage(struct evmc_host_context* h,
                                              const evmc_address* a, const evmc_bytes32* k)
{
    struct slot* s = find_slot(h, a, k, true);
    if (!s)
        abort();
    bool was_warm = s->warm;
    s->warm = true;
    return was_warm ? EVMC_ACCESS_WARM : EVMC_ACCESS_COLD;
}

static evmc_bytes32 get_transient_storage(struct evmc_host_context* h, const evmc_address* a,
                                          const evmc_bytes32* k)
{
    (void)h;
    (void)a;
    (void)k;
    evmc_bytes32 zero = {{0}};
    return zero;
}

static void set_transient_storage(struct evmc_host_context* h, const evmc_address* a,
                                  const evmc_bytes32* k, const evmc_bytes32* v)
{
    (void)h;
    (void)a;
    (void)k;
    (void)v;
}

static const struct evmc_host_interface host_interface = {
    account_exists, get_storage,    set_storage,    get_balance,
    get_code_size,  get_code_hash,  copy_code,      selfdestruct,
    call,           get_tx_context, get_block_hash, emit_log,
    access_account, access_storage, get_transient_storage, set_transient_storage,
};

/* ---------------------------------------------------------------- the programs */

static const evmc_address ADDR_A = {{0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
                                     0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa}};
static const evmc_address ADDR_B = {{0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
                                     0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb}};
static const evmc_address ADDR_SENDER = {{0x11}};

/*
 * Storage and a log.       gas
 *   PUSH1 42                 3
 *   PUSH1 1                  3
 *   SSTORE               22100  cold slot 2100 + 0->0->42 (ADDED) 20000
 *   PUSH1 1                  3
 *   SLOAD                  100  warm
 *   PUSH1 0                  3
 *   MSTORE                   6  3 + 1 word of memory
 *   PUSH1 7 (topic)          3
 *   PUSH1 32 (size)          3
 *   PUSH1 0 (offset)         3
 *   LOG1                  1006  375 + 375 per topic + 8 * 32 bytes
 *   PUSH1 32                 3
 *   PUSH1 0                  3
 *   RETURN                   0
 *                        23239
 */
static const uint8_t STORAGE_LOG[] = {0x60, 0x2a, 0x60, 0x01, 0x55, 0x60, 0x01, 0x54, 0x60,
                                      0x00, 0x52, 0x60, 0x07, 0x60, 0x20, 0x60, 0x00, 0xa1,
                                      0x60, 0x20, 0x60, 0x00, 0xf3};

/*
 * A calls B and returns B's 32-byte output followed by CALL's success flag.
 *   PUSH1 32 (retSize), PUSH1 0 (retOffset), PUSH1 0 (argsSize), PUSH1 0 (argsOffset),
 *   PUSH1 0 (value), PUSH20 B, PUSH2 0xffff (gas)          7 pushes: 21
 *   CALL          100 warm base + 2500 cold account + 3 memory (1 word) = 2603,
 *                 then B runs with min(0xffff, 63/64 of what is left) = 0xffff gas
 *                 and uses 18 of it
 *   PUSH1 32, MSTORE (3 + 3 memory to 2 words), PUSH1 64, PUSH1 0, RETURN: 3+6+3+3+0 = 15
 * Total 21 + 2603 + 18 + 15 = 2657.
 */
static const uint8_t CALLER[] = {
    0x60, 0x20, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x73, 0xbb, 0xbb, 0xbb,
    0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
    0xbb, 0xbb, 0xbb, 0x61, 0xff, 0xff, 0xf1, 0x60, 0x20, 0x52, 0x60, 0x40, 0x60, 0x00,
    0xf3};

/* B: PUSH1 0x77, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN: 3+3+6+3+3 = 18 gas. */
static const uint8_t CALLEE[] = {0x60, 0x77, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3};

/* PUSH1 1, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, REVERT: 18 gas. */
static const uint8_t REVERTS[] = {0x60, 0x01, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xfd};

/* The designated invalid instruction. */
static const uint8_t INVALID[] = {0xfe};

static void init_host(struct evmc_host_context* h, struct evmc_vm* vm)
{
    memset(h, 0, sizeof *h);
    h->vm = vm;
    h->rev = EVMC_CANCUN;
    h->accounts[0] = (struct account){ADDR_A, NULL, 0, true};
    h->accounts[1] = (struct account){ADDR_B, CALLEE, sizeof CALLEE, false};
    h->num_accounts = 2;
}

static struct evmc_message message(int64_t gas)
{
    struct evmc_message m;
    memset(&m, 0, sizeof m);
    m.kind = EVMC_CALL;
    m.gas = gas;
    m.recipient = ADDR_A;
    m.code_address = ADDR_A;
    m.sender = ADDR_SENDER;
    return m;
}

static struct evmc_result run(struct evmc_host_context* h, const uint8_t* code, size_t size,
                              enum evmc_revision rev)
{
    const struct evmc_message m = message(100000);
    return h->vm->execute(h->vm, &host_interface, h, rev, &m, code, size);
}

/* Releases a result; one with output must have a release function. */
static void release(const struct evmc_result* r)
{
    if (r->output_size != 0)
        CHECK(r->release != NULL);
    if (r->release)
        r->release(r);
}

static bool output_is_word(const struct evmc_result* r, size_t offset, uint8_t last)
{
    if (r->output_size < offset + 32)
        return false;
    for (size_t i = 0; i < 31; ++i)
        if (r->output_data[offset + i] != 0)
            return false;
    return r->output_data[offset + 31] == last;
}

static void test_metadata(struct evmc_vm* vm, const char* expected_version)
{
    CHECK_EQ_I64(vm->abi_version, EVMC_ABI_VERSION);
    CHECK(strcmp(vm->name, "ember") == 0);
    CHECK(strcmp(vm->version, expected_version) == 0);
    CHECK(vm->destroy != NULL && vm->execute != NULL && vm->get_capabilities != NULL);
    CHECK_EQ_I64(vm->get_capabilities(vm), EVMC_CAPABILITY_EVM1);
}

static void test_options(struct evmc_vm* vm)
{
    CHECK(vm->set_option != NULL);
    CHECK_EQ_I64(vm->set_option(vm, "tier", "interp"), EVMC_SET_OPTION_SUCCESS);
    CHECK_EQ_I64(vm->set_option(vm, "tier", "jit"), EVMC_SET_OPTION_SUCCESS);
    CHECK_EQ_I64(vm->set_option(vm, "tier", "auto"), EVMC_SET_OPTION_SUCCESS);
    CHECK_EQ_I64(vm->set_option(vm, "jit.hot-calls", "2"), EVMC_SET_OPTION_SUCCESS);
    CHECK_EQ_I64(vm->set_option(vm, "jit.workers", "0"), EVMC_SET_OPTION_INVALID_VALUE);
    CHECK_EQ_I64(vm->set_option(vm, "jit.window-ms", "x"), EVMC_SET_OPTION_INVALID_VALUE);
    CHECK_EQ_I64(vm->set_option(vm, "tier", "warp"), EVMC_SET_OPTION_INVALID_VALUE);
    CHECK_EQ_I64(vm->set_option(vm, "tier", "\xff"), EVMC_SET_OPTION_INVALID_VALUE);
    CHECK_EQ_I64(vm->set_option(vm, "no-such-option", "1"), EVMC_SET_OPTION_INVALID_NAME);
    CHECK_EQ_I64(vm->set_option(vm, "", ""), EVMC_SET_OPTION_INVALID_NAME);
    CHECK_EQ_I64(vm->set_option(vm, NULL, "interp"), EVMC_SET_OPTION_INVALID_NAME);
    CHECK_EQ_I64(vm->set_option(vm, "tier", NULL), EVMC_SET_OPTION_INVALID_VALUE);
    /* The name is checked before the value. */
    CHECK_EQ_I64(vm->set_option(vm, "no-such-option", NULL), EVMC_SET_OPTION_INVALID_NAME);
    CHECK_EQ_I64(vm->set_option(vm, "no-such-option", "\xff"), EVMC_SET_OPTION_INVALID_NAME);
    CHECK_EQ_I64(vm->set_option(vm, NULL, NULL), EVMC_SET_OPTION_INVALID_NAME);
    CHECK_EQ_I64(vm->set_option(vm, "tier", "auto"), EVMC_SET_OPTION_SUCCESS);
}

/* Counts calls of release functions, to check each result's output is freed exactly once. */
static int releases = 0;

static void release_counted(const struct evmc_result* r)
{
    if (r->output_data == NULL)
        CHECK_EQ_I64(r->output_size, 0);
    else {
        /* Reads every output byte, as the tester does (valgrind flags freed or unset memory). */
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < r->output_size; ++i)
            sink = r->output_data[i];
        (void)sink;
    }
    if (r->release) {
        r->release(r);
        ++releases;
    }
}

static bool address_is_zero(const evmc_address* a)
{
    for (size_t i = 0; i < sizeof a->bytes; ++i)
        if (a->bytes[i] != 0)
            return false;
    return true;
}

/* Every check of evmc-vmtester 12.1 (the EVMC project's reference tester, not packaged here):
   abi_version_match, name, version, capabilities, execute_call, execute_create,
   set_option_unknown_name, set_option_empty_value, set_option_unknown_value, precompile_test. */
static void test_vmtester_checks(struct evmc_vm* vm)
{
    /* abi_version_match, name, version */
    CHECK_EQ_I64(vm->abi_version, EVMC_ABI_VERSION);
    CHECK(vm->name != NULL && strlen(vm->name) != 0);
    CHECK(vm->version != NULL && strlen(vm->version) != 0);

    /* capabilities: EVM1, EWASM or PRECOMPILES; precompile_test runs only with PRECOMPILES,
       which ember does not claim (the host provides precompiles). */
    const evmc_capabilities_flagset caps = vm->get_capabilities(vm);
    CHECK((caps & (EVMC_CAPABILITY_EVM1 | EVMC_CAPABILITY_EWASM | EVMC_CAPABILITY_PRECOMPILES)) != 0);
    CHECK((caps & EVMC_CAPABILITY_PRECOMPILES) == 0);

    /* execute_call and execute_create: code FE 00 at EVMC_MAX_REVISION and at the latest
       revision ember runs, a zeroed call message and a create message with 65536 gas. */
    static const uint8_t code[] = {0xfe, 0x00};
    const enum evmc_revision revs[] = {EVMC_MAX_REVISION, EVMC_OSAKA};
    for (size_t k = 0; k < 2; ++k) {
        struct evmc_message msgs[2];
        memset(msgs, 0, sizeof msgs);
        msgs[0].kind = EVMC_CALL;
        msgs[1].kind = EVMC_CREATE;
        msgs[1].gas = 65536;
        for (size_t i = 0; i < 2; ++i) {
            struct evmc_host_context h;
            init_host(&h, vm);
            const int before = releases;
            struct evmc_result r =
                vm->execute(vm, &host_interface, &h, revs[k], &msgs[i], code, sizeof code);
            if (r.status_code != EVMC_SUCCESS && r.status_code != EVMC_REVERT)
                CHECK_EQ_I64(r.gas_left, 0);
            if (revs[k] == EVMC_MAX_REVISION)
                CHECK_EQ_I64(r.status_code, EVMC_REJECTED);
            else
                CHECK_EQ_I64(r.status_code, EVMC_INVALID_INSTRUCTION);
            /* The VM never provides the create address. */
            CHECK(address_is_zero(&r.create_address));
            release_counted(&r);
            CHECK(releases - before <= 1);
        }
    }
    /* A result with output is released once, by its own release function. */
    {
        struct evmc_host_context h;
        init_host(&h, vm);
        const int before = releases;
        struct evmc_result r = run(&h, REVERTS, sizeof REVERTS, EVMC_CANCUN);
        CHECK_EQ_I64(r.status_code, EVMC_REVERT);
        CHECK(r.release != NULL && r.output_size == 32);
        release_counted(&r);
        CHECK_EQ_I64(releases - before, 1);
    }

    /* set_option_unknown_name and set_option_empty_value */
    CHECK_EQ_I64(vm->set_option(vm, "unknown_option_csk9twq", "v"), EVMC_SET_OPTION_INVALID_NAME);
    CHECK_EQ_I64(vm->set_option(vm, "unknown_option_csk9twq", "x"), EVMC_SET_OPTION_INVALID_NAME);
    CHECK_EQ_I64(vm->set_option(vm, "unknown_option_csk9twq", NULL), EVMC_SET_OPTION_INVALID_NAME);

    /* set_option_unknown_value: the tester probes "verbose", which ember does not have, so it
       stops there; the same check on an option ember has. */
    CHECK_EQ_I64(vm->set_option(vm, "verbose", "1"), EVMC_SET_OPTION_INVALID_NAME);
    CHECK_EQ_I64(vm->set_option(vm, "tier", "GjNOONsbUl"), EVMC_SET_OPTION_INVALID_VALUE);
    CHECK_EQ_I64(vm->set_option(vm, "tier", NULL), EVMC_SET_OPTION_INVALID_VALUE);
}

static void test_storage_and_log(struct evmc_vm* vm)
{
    struct evmc_host_context h;
    init_host(&h, vm);
    struct evmc_result r = run(&h, STORAGE_LOG, sizeof STORAGE_LOG, EVMC_CANCUN);
    CHECK_EQ_I64(r.status_code, EVMC_SUCCESS);
    CHECK_EQ_I64(r.gas_left, 100000 - 23239);
    CHECK_EQ_I64(r.gas_refund, 0);
    CHECK(output_is_word(&r, 0, 42));
    CHECK_EQ_I64(r.output_size, 32);
    release(&r);

    evmc_bytes32 key = {{0}};
    key.bytes[31] = 1;
    const struct slot* s = find_slot(&h, &ADDR_A, &key, false);
    CHECK(s != NULL && s->current.bytes[31] == 42 && s->warm);
    CHECK_EQ_I64(h.num_logs, 1);
    CHECK(memcmp(&h.logs[0].addr, &ADDR_A, sizeof ADDR_A) == 0);
    CHECK_EQ_I64(h.logs[0].data_size, 32);
    CHECK_EQ_I64(h.logs[0].data[31], 42);
    CHECK_EQ_I64(h.logs[0].topics_count, 1);
    CHECK_EQ_I64(h.logs[0].topics[0].bytes[31], 7);
}

static void test_nested_call(struct evmc_vm* vm)
{
    struct evmc_host_context h;
    init_host(&h, vm);
    struct evmc_result r = run(&h, CALLER, sizeof CALLER, EVMC_CANCUN);
    CHECK_EQ_I64(r.status_code, EVMC_SUCCESS);
    CHECK_EQ_I64(h.nested_calls, 1);
    CHECK_EQ_I64(r.output_size, 64);
    CHECK(output_is_word(&r, 0, 0x77));
    CHECK(output_is_word(&r, 32, 1));
    CHECK_EQ_I64(r.gas_left, 100000 - 2657);
    release(&r);
}

static void test_failures(struct evmc_vm* vm)
{
    struct evmc_host_context h;
    init_host(&h, vm);

    struct evmc_result r = run(&h, REVERTS, sizeof REVERTS, EVMC_CANCUN);
    CHECK_EQ_I64(r.status_code, EVMC_REVERT);
    CHECK_EQ_I64(r.gas_left, 100000 - 18);
    CHECK(output_is_word(&r, 0, 1));
    release(&r);

    r = run(&h, INVALID, sizeof INVALID, EVMC_CANCUN);
    CHECK_EQ_I64(r.status_code, EVMC_INVALID_INSTRUCTION);
    CHECK_EQ_I64(r.gas_left, 0);
    CHECK_EQ_I64(r.output_size, 0);
    release(&r);

    /* Revisions ember does not implement are rejected. */
    r = run(&h, CALLEE, sizeof CALLEE, EVMC_EXPERIMENTAL);
    CHECK_EQ_I64(r.status_code, EVMC_REJECTED);
    release(&r);
    r = run(&h, CALLEE, sizeof CALLEE, (enum evmc_revision)99);
    CHECK_EQ_I64(r.status_code, EVMC_REJECTED);
    release(&r);

    /* Code may be NULL with size 0: an empty program stops at once. */
    r = run(&h, NULL, 0, EVMC_CANCUN);
    CHECK_EQ_I64(r.status_code, EVMC_SUCCESS);
    CHECK_EQ_I64(r.gas_left, 100000);
    CHECK_EQ_I64(r.output_size, 0);
    release(&r);

    /* NULL code with a size is malformed. */
    r = run(&h, NULL, 5, EVMC_CANCUN);
    CHECK_EQ_I64(r.status_code, EVMC_INTERNAL_ERROR);
    release(&r);

    /* Every revision ember implements runs the same simple program. */
    for (int rev = EVMC_FRONTIER; rev <= EVMC_OSAKA; ++rev) {
        r = run(&h, CALLEE, sizeof CALLEE, (enum evmc_revision)rev);
        CHECK_EQ_I64(r.status_code, EVMC_SUCCESS);
        CHECK_EQ_I64(r.gas_left, 100000 - 18);
        release(&r);
    }
}

int main(int argc, char** argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PATH/TO/libember.so EXPECTED_VERSION\n", argv[0]);
        return 2;
    }
    void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
    struct evmc_vm* (*create)(void) = NULL;
    *(void**)(&create) = dlsym(lib, "evmc_create_ember");
    if (!create) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 2;
    }
    struct evmc_vm* vm = create();
    if (!vm) {
        fprintf(stderr, "evmc_create_ember returned NULL\n");
        return 2;
    }

    test_metadata(vm, argv[2]);
    test_options(vm);
    test_vmtester_checks(vm);
    test_storage_and_log(vm);
    test_nested_call(vm);
    test_failures(vm);

    vm->destroy(vm);
    dlclose(lib);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
