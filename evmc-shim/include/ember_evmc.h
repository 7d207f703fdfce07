/*
 * ember_evmc.h: the EVMC 12.1 ABI as implemented by libember.so, declared for C hosts.
 *
 * Written for ember from the EVMC 12.1 specification (include/evmc/evmc.h); binary
 * compatible with it. The layout of every struct is checked at compile time below against
 * the offsets of the real header on LP64 targets (x86-64, aarch64).
 *
 * Entry point: struct evmc_vm* evmc_create_ember(void);
 * Options (vm->set_option): "tier" = "interp" (the JIT tiers "jit"/"auto" are refused with
 * EVMC_SET_OPTION_INVALID_VALUE until they are available).
 * execute() returns EVMC_REJECTED for a revision ember does not implement (beyond
 * EVMC_OSAKA) and for EVMC_EOFCREATE, and EVMC_INTERNAL_ERROR for malformed arguments
 * (NULL host/message/host function, NULL data with a non-zero size, negative gas).
 * One instance may be used by many threads at once.
 */
#ifndef EMBER_EVMC_H
#define EMBER_EVMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { EVMC_ABI_VERSION = 12 };

typedef struct evmc_bytes32 { uint8_t bytes[32]; } evmc_bytes32;
typedef struct evmc_bytes32 evmc_uint256be;
typedef struct evmc_address { uint8_t bytes[20]; } evmc_address;

enum evmc_call_kind {
    EVMC_CALL = 0,
    EVMC_DELEGATECALL = 1,
    EVMC_CALLCODE = 2,
    EVMC_CREATE = 3,
    EVMC_CREATE2 = 4,
    EVMC_EOFCREATE = 5
};

enum evmc_flags { EVMC_STATIC = 1, EVMC_DELEGATED = 2 };

struct evmc_message {
    enum evmc_call_kind kind;
    uint32_t flags;
    int32_t depth;
    int64_t gas;
    evmc_address recipient;
    evmc_address sender;
    const uint8_t* input_data;
    size_t input_size;
    evmc_uint256be value;
    evmc_bytes32 create2_salt;
    evmc_address code_address;
    const uint8_t* code;
    size_t code_size;
};

struct evmc_tx_initcode {
    evmc_bytes32 hash;
    const uint8_t* code;
    size_t code_size;
};

struct evmc_tx_context {
    evmc_uint256be tx_gas_price;
    evmc_address tx_origin;
    evmc_address block_coinbase;
    int64_t block_number;
    int64_t block_timestamp;
    int64_t block_gas_limit;
    evmc_uint256be block_prev_randao;
    evmc_uint256be chain_id;
    evmc_uint256be block_base_fee;
    evmc_uint256be blob_base_fee;
    const evmc_bytes32* blob_hashes;
    size_t blob_hashes_count;
    const struct evmc_tx_initcode* initcodes;
    size_t initcodes_count;
};

enum evmc_status_code {
    EVMC_SUCCESS = 0,
    EVMC_FAILURE = 1,
    EVMC_REVERT = 2,
    EVMC_OUT_OF_GAS = 3,
    EVMC_INVALID_INSTRUCTION = 4,
    EVMC_UNDEFINED_INSTRUCTION = 5,
    EVMC_STACK_OVERFLOW = 6,
    EVMC_STACK_UNDERFLOW = 7,
    EVMC_BAD_JUMP_DESTINATION = 8,
    EVMC_INVALID_MEMORY_ACCESS = 9,
    EVMC_CALL_DEPTH_EXCEEDED = 10,
    EVMC_STATIC_MODE_VIOLATION = 11,
    EVMC_PRECOMPILE_FAILURE = 12,
    EVMC_CONTRACT_VALIDATION_FAILURE = 13,
    EVMC_ARGUMENT_OUT_OF_RANGE = 14,
    EVMC_WASM_UNREACHABLE_INSTRUCTION = 15,
    EVMC_WASM_TRAP = 16,
    EVMC_INSUFFICIENT_BALANCE = 17,
    EVMC_INTERNAL_ERROR = -1,
    EVMC_REJECTED = -2,
    EVMC_OUT_OF_MEMORY = -3
};

struct evmc_result;
typedef void (*evmc_release_result_fn)(const struct evmc_result* result);

struct evmc_result {
    enum evmc_status_code status_code;
    int64_t gas_left;
    int64_t gas_refund;
    const uint8_t* output_data;
    size_t output_size;
    evmc_release_result_fn release;
    evmc_address create_address;
    uint8_t padding[4];
};

enum evmc_storage_status {
    EVMC_STORAGE_ASSIGNED = 0,
    EVMC_STORAGE_ADDED = 1,
    EVMC_STORAGE_DELETED = 2,
    EVMC_STORAGE_MODIFIED = 3,
    EVMC_STORAGE_DELETED_ADDED = 4,
    EVMC_STORAGE_MODIFIED_DELETED = 5,
    EVMC_STORAGE_DELETED_RESTORED = 6,
    EVMC_STORAGE_ADDED_DELETED = 7,
    EVMC_STORAGE_MODIFIED_RESTORED = 8
};

enum evmc_access_status { EVMC_ACCESS_COLD = 0, EVMC_ACCESS_WARM = 1 };

struct evmc_host_context;

typedef bool (*evmc_account_exists_fn)(struct evmc_host_context* context,
                                       const evmc_address* address);
typedef evmc_bytes32 (*evmc_get_storage_fn)(struct evmc_host_context* context,
                                            const evmc_address* address,
                                            const evmc_bytes32* key);
typedef enum evmc_storage_status (*evmc_set_storage_fn)(struct evmc_host_context* context,
                                                        const evmc_address* address,
                                                        const evmc_bytes32* key,
                                                        const evmc_bytes32* value);
typedef evmc_uint256be (*evmc_get_balance_fn)(struct evmc_host_context* context,
                                              const evmc_address* address);
typedef size_t (*evmc_get_code_size_fn)(struct evmc_host_context* context,
                                        const evmc_address* address);
typedef evmc_bytes32 (*evmc_get_code_hash_fn)(struct evmc_host_context* context,
                                              const evmc_address* address);
typedef size_t (*evmc_copy_code_fn)(struct evmc_host_context* context,
                                    const evmc_address* address,
                                    size_t code_offset,
                                    uint8_t* buffer_data,
                                    size_t buffer_size);
typedef bool (*evmc_selfdestruct_fn)(struct evmc_host_context* context,
                                     const evmc_address* address,
                                     const evmc_address* beneficiary);
typedef struct evmc_result (*evmc_call_fn)(struct evmc_host_context* context,
                                           const struct evmc_message* msg);
typedef struct evmc_tx_context (*evmc_get_tx_context_fn)(struct evmc_host_context* context);
typedef evmc_bytes32 (*evmc_get_block_hash_fn)(struct evmc_host_context* context, int64_t number);
typedef void (*evmc_emit_log_fn)(struct evmc_host_context* context,
                                 const evmc_address* address,
                                 const uint8_t* data,
                                 size_t data_size,
                                 const evmc_bytes32 topics[],
                                 size_t topics_count);
typedef enum evmc_access_status (*evmc_access_account_fn)(struct evmc_host_context* context,
                                                          const evmc_address* address);
typedef enum evmc_access_status (*evmc_access_storage_fn)(struct evmc_host_context* context,
                                                          const evmc_address* address,
                                                          const evmc_bytes32* key);
typedef evmc_bytes32 (*evmc_get_transient_storage_fn)(struct evmc_host_context* context,
                                                      const evmc_address* address,
                                                      const evmc_bytes32* key);
typedef void (*evmc_set_transient_storage_fn)(struct evmc_host_context* context,
                                              const evmc_address* address,
                                              const evmc_bytes32* key,
                                              const evmc_bytes32* value);

struct evmc_host_interface {
    evmc_account_exists_fn account_exists;
    evmc_get_storage_fn get_storage;
    evmc_set_storage_fn set_storage;
    evmc_get_balance_fn get_balance;
    evmc_get_code_size_fn get_code_size;
    evmc_get_code_hash_fn get_code_hash;
    evmc_copy_code_fn copy_code;
    evmc_selfdestruct_fn selfdestruct;
    evmc_call_fn call;
    evmc_get_tx_context_fn get_tx_context;
    evmc_get_block_hash_fn get_block_hash;
    evmc_emit_log_fn emit_log;
    evmc_access_account_fn access_account;
    evmc_access_storage_fn access_storage;
    evmc_get_transient_storage_fn get_transient_storage;
    evmc_set_transient_storage_fn set_transient_storage;
};

enum evmc_revision {
    EVMC_FRONTIER = 0,
    EVMC_HOMESTEAD = 1,
    EVMC_TANGERINE_WHISTLE = 2,
    EVMC_SPURIOUS_DRAGON = 3,
    EVMC_BYZANTIUM = 4,
    EVMC_CONSTANTINOPLE = 5,
    EVMC_PETERSBURG = 6,
    EVMC_ISTANBUL = 7,
    EVMC_BERLIN = 8,
    EVMC_LONDON = 9,
    EVMC_PARIS = 10,
    EVMC_SHANGHAI = 11,
    EVMC_CANCUN = 12,
    EVMC_PRAGUE = 13,
    EVMC_OSAKA = 14,
    EVMC_EXPERIMENTAL = 15,
    EVMC_MAX_REVISION = EVMC_EXPERIMENTAL,
    EVMC_LATEST_STABLE_REVISION = EVMC_CANCUN
};

enum evmc_capabilities {
    EVMC_CAPABILITY_EVM1 = (1u << 0),
    EVMC_CAPABILITY_EWASM = (1u << 1),
    EVMC_CAPABILITY_PRECOMPILES = (1u << 2)
};
typedef uint32_t evmc_capabilities_flagset;

enum evmc_set_option_result {
    EVMC_SET_OPTION_SUCCESS = 0,
    EVMC_SET_OPTION_INVALID_NAME = 1,
    EVMC_SET_OPTION_INVALID_VALUE = 2
};

struct evmc_vm;
struct evmc_host_context;

typedef void (*evmc_destroy_fn)(struct evmc_vm* vm);
typedef struct evmc_result (*evmc_execute_fn)(struct evmc_vm* vm,
                                              const struct evmc_host_interface* host,
                                              struct evmc_host_context* context,
                                              enum evmc_revision rev,
                                              const struct evmc_message* msg,
                                              const uint8_t* code,
                                              size_t code_size);
typedef evmc_capabilities_flagset (*evmc_get_capabilities_fn)(struct evmc_vm* vm);
typedef enum evmc_set_option_result (*evmc_set_option_fn)(struct evmc_vm* vm,
                                                          const char* name,
                                                          const char* value);

struct evmc_vm {
    const int abi_version;
    const char* name;
    const char* version;
    evmc_destroy_fn destroy;
    evmc_execute_fn execute;
    evmc_get_capabilities_fn get_capabilities;
    evmc_set_option_fn set_option;
};

/** Creates an ember VM instance (free it with vm->destroy(vm)). NULL only on failure. */
struct evmc_vm* evmc_create_ember(void);

#if defined(__LP64__) && !defined(__cplusplus)
#define EMBER_EVMC_CHECK(type, field, off) \
    _Static_assert(offsetof(type, field) == (off), #type "." #field " is at " #off)
EMBER_EVMC_CHECK(struct evmc_vm, abi_version, 0);
EMBER_EVMC_CHECK(struct evmc_vm, name, 8);
EMBER_EVMC_CHECK(struct evmc_vm, version, 16);
EMBER_EVMC_CHECK(struct evmc_vm, destroy, 24);
EMBER_EVMC_CHECK(struct evmc_vm, execute, 32);
EMBER_EVMC_CHECK(struct evmc_vm, get_capabilities, 40);
EMBER_EVMC_CHECK(struct evmc_vm, set_option, 48);
_Static_assert(sizeof(struct evmc_vm) == 56, "sizeof(struct evmc_vm)");
EMBER_EVMC_CHECK(struct evmc_message, kind, 0);
EMBER_EVMC_CHECK(struct evmc_message, flags, 4);
EMBER_EVMC_CHECK(struct evmc_message, depth, 8);
EMBER_EVMC_CHECK(struct evmc_message, gas, 16);
EMBER_EVMC_CHECK(struct evmc_message, recipient, 24);
EMBER_EVMC_CHECK(struct evmc_message, sender, 44);
EMBER_EVMC_CHECK(struct evmc_message, input_data, 64);
EMBER_EVMC_CHECK(struct evmc_message, input_size, 72);
EMBER_EVMC_CHECK(struct evmc_message, value, 80);
EMBER_EVMC_CHECK(struct evmc_message, create2_salt, 112);
EMBER_EVMC_CHECK(struct evmc_message, code_address, 144);
EMBER_EVMC_CHECK(struct evmc_message, code, 168);
EMBER_EVMC_CHECK(struct evmc_message, code_size, 176);
_Static_assert(sizeof(struct evmc_message) == 184, "sizeof(struct evmc_message)");
EMBER_EVMC_CHECK(struct evmc_result, status_code, 0);
EMBER_EVMC_CHECK(struct evmc_result, gas_left, 8);
EMBER_EVMC_CHECK(struct evmc_result, gas_refund, 16);
EMBER_EVMC_CHECK(struct evmc_result, output_data, 24);
EMBER_EVMC_CHECK(struct evmc_result, output_size, 32);
EMBER_EVMC_CHECK(struct evmc_result, release, 40);
EMBER_EVMC_CHECK(struct evmc_result, create_address, 48);
EMBER_EVMC_CHECK(struct evmc_result, padding, 68);
_Static_assert(sizeof(struct evmc_result) == 72, "sizeof(struct evmc_result)");
EMBER_EVMC_CHECK(struct evmc_tx_context, tx_gas_price, 0);
EMBER_EVMC_CHECK(struct evmc_tx_context, tx_origin, 32);
EMBER_EVMC_CHECK(struct evmc_tx_context, block_coinbase, 52);
EMBER_EVMC_CHECK(struct evmc_tx_context, block_number, 72);
EMBER_EVMC_CHECK(struct evmc_tx_context, block_timestamp, 80);
EMBER_EVMC_CHECK(struct evmc_tx_context, block_gas_limit, 88);
EMBER_EVMC_CHECK(struct evmc_tx_context, block_prev_randao, 96);
EMBER_EVMC_CHECK(struct evmc_tx_context, chain_id, 128);
EMBER_EVMC_CHECK(struct evmc_tx_context, block_base_fee, 160);
EMBER_EVMC_CHECK(struct evmc_tx_context, blob_base_fee, 192);
EMBER_EVMC_CHECK(struct evmc_tx_context, blob_hashes, 224);
EMBER_EVMC_CHECK(struct evmc_tx_context, blob_hashes_count, 232);
EMBER_EVMC_CHECK(struct evmc_tx_context, initcodes, 240);
EMBER_EVMC_CHECK(struct evmc_tx_context, initcodes_count, 248);
_Static_assert(sizeof(struct evmc_tx_context) == 256, "sizeof(struct evmc_tx_context)");
EMBER_EVMC_CHECK(struct evmc_tx_initcode, hash, 0);
EMBER_EVMC_CHECK(struct evmc_tx_initcode, code, 32);
EMBER_EVMC_CHECK(struct evmc_tx_initcode, code_size, 40);
_Static_assert(sizeof(struct evmc_tx_initcode) == 48, "sizeof(struct evmc_tx_initcode)");
EMBER_EVMC_CHECK(struct evmc_host_interface, account_exists, 0);
EMBER_EVMC_CHECK(struct evmc_host_interface, call, 64);
EMBER_EVMC_CHECK(struct evmc_host_interface, set_transient_storage, 120);
_Static_assert(sizeof(struct evmc_host_interface) == 128, "sizeof(struct evmc_host_interface)");
#undef EMBER_EVMC_CHECK
#endif

#ifdef __cplusplus
}
#endif

#endif /* EMBER_EVMC_H */
