//! Sizes and offsets measured with `offsetof` on EVMC 12.1's `evmc.h` (x86-64 LP64),
//! as recorded in PRIOR-ART §1.
use super::*;
use std::mem::{align_of, offset_of, size_of};

#[test]
fn enum_values_match_ember() {
    use ember_evm::{StatusCode, StorageStatus};
    for n in -3..=17 {
        if let Some(s) = StatusCode::from_evmc(n) {
            assert_eq!(evmc_status_code(s as i32).0, n);
        }
    }
    assert_eq!(
        evmc_status_code::EVMC_INSUFFICIENT_BALANCE.0,
        StatusCode::InsufficientBalance as i32
    );
    assert_eq!(
        evmc_status_code::EVMC_OUT_OF_MEMORY.0,
        StatusCode::OutOfMemory as i32
    );
    assert_eq!(
        evmc_storage_status::EVMC_STORAGE_MODIFIED_RESTORED.0,
        StorageStatus::ModifiedRestored as i32
    );
    assert_eq!(
        evmc_revision::EVMC_OSAKA.0,
        ember_evm::Revision::Osaka as i32
    );
    assert_eq!(
        evmc_revision::EVMC_PRAGUE.0,
        ember_evm::Revision::Prague as i32
    );
}

#[test]
fn scalar_types() {
    assert_eq!(size_of::<evmc_address>(), 20);
    assert_eq!(align_of::<evmc_address>(), 1);
    assert_eq!(size_of::<evmc_bytes32>(), 32);
    assert_eq!(align_of::<evmc_bytes32>(), 1);
    for size in [
        size_of::<evmc_call_kind>(),
        size_of::<evmc_status_code>(),
        size_of::<evmc_revision>(),
        size_of::<evmc_storage_status>(),
        size_of::<evmc_access_status>(),
        size_of::<evmc_set_option_result>(),
    ] {
        assert_eq!(size, 4, "C enums are int-sized");
    }
    // Option<fn> is pointer-sized and NULL is None.
    assert_eq!(size_of::<Option<evmc_execute_fn>>(), 8);
}

#[test]
fn evmc_vm_layout() {
    assert_eq!(size_of::<evmc_vm>(), 56);
    assert_eq!(offset_of!(evmc_vm, abi_version), 0);
    assert_eq!(offset_of!(evmc_vm, name), 8);
    assert_eq!(offset_of!(evmc_vm, version), 16);
    assert_eq!(offset_of!(evmc_vm, destroy), 24);
    assert_eq!(offset_of!(evmc_vm, execute), 32);
    assert_eq!(offset_of!(evmc_vm, get_capabilities), 40);
    assert_eq!(offset_of!(evmc_vm, set_option), 48);
}

#[test]
fn evmc_message_layout() {
    assert_eq!(size_of::<evmc_message>(), 184);
    assert_eq!(offset_of!(evmc_message, kind), 0);
    assert_eq!(offset_of!(evmc_message, flags), 4);
    assert_eq!(offset_of!(evmc_message, depth), 8);
    assert_eq!(offset_of!(evmc_message, gas), 16);
    assert_eq!(offset_of!(evmc_message, recipient), 24);
    assert_eq!(offset_of!(evmc_message, sender), 44);
    assert_eq!(offset_of!(evmc_message, input_data), 64);
    assert_eq!(offset_of!(evmc_message, input_size), 72);
    assert_eq!(offset_of!(evmc_message, value), 80);
    assert_eq!(offset_of!(evmc_message, create2_salt), 112);
    assert_eq!(offset_of!(evmc_message, code_address), 144);
    assert_eq!(offset_of!(evmc_message, code), 168);
    assert_eq!(offset_of!(evmc_message, code_size), 176);
}

#[test]
fn evmc_result_layout() {
    assert_eq!(size_of::<evmc_result>(), 72);
    assert_eq!(offset_of!(evmc_result, status_code), 0);
    assert_eq!(offset_of!(evmc_result, gas_left), 8);
    assert_eq!(offset_of!(evmc_result, gas_refund), 16);
    assert_eq!(offset_of!(evmc_result, output_data), 24);
    assert_eq!(offset_of!(evmc_result, output_size), 32);
    assert_eq!(offset_of!(evmc_result, release), 40);
    assert_eq!(offset_of!(evmc_result, create_address), 48);
    assert_eq!(offset_of!(evmc_result, padding), 68);
}

#[test]
fn evmc_tx_context_layout() {
    assert_eq!(size_of::<evmc_tx_context>(), 256);
    assert_eq!(offset_of!(evmc_tx_context, tx_gas_price), 0);
    assert_eq!(offset_of!(evmc_tx_context, tx_origin), 32);
    assert_eq!(offset_of!(evmc_tx_context, block_coinbase), 52);
    assert_eq!(offset_of!(evmc_tx_context, block_number), 72);
    assert_eq!(offset_of!(evmc_tx_context, block_timestamp), 80);
    assert_eq!(offset_of!(evmc_tx_context, block_gas_limit), 88);
    assert_eq!(offset_of!(evmc_tx_context, block_prev_randao), 96);
    assert_eq!(offset_of!(evmc_tx_context, chain_id), 128);
    assert_eq!(offset_of!(evmc_tx_context, block_base_fee), 160);
    assert_eq!(offset_of!(evmc_tx_context, blob_base_fee), 192);
    assert_eq!(offset_of!(evmc_tx_context, blob_hashes), 224);
    assert_eq!(offset_of!(evmc_tx_context, blob_hashes_count), 232);
    assert_eq!(offset_of!(evmc_tx_context, initcodes), 240);
    assert_eq!(offset_of!(evmc_tx_context, initcodes_count), 248);
}

#[test]
fn evmc_tx_initcode_layout() {
    assert_eq!(size_of::<evmc_tx_initcode>(), 48);
    assert_eq!(offset_of!(evmc_tx_initcode, hash), 0);
    assert_eq!(offset_of!(evmc_tx_initcode, code), 32);
    assert_eq!(offset_of!(evmc_tx_initcode, code_size), 40);
}

#[test]
fn evmc_host_interface_layout() {
    assert_eq!(size_of::<evmc_host_interface>(), 128);
    let offsets = [
        offset_of!(evmc_host_interface, account_exists),
        offset_of!(evmc_host_interface, get_storage),
        offset_of!(evmc_host_interface, set_storage),
        offset_of!(evmc_host_interface, get_balance),
        offset_of!(evmc_host_interface, get_code_size),
        offset_of!(evmc_host_interface, get_code_hash),
        offset_of!(evmc_host_interface, copy_code),
        offset_of!(evmc_host_interface, selfdestruct),
        offset_of!(evmc_host_interface, call),
        offset_of!(evmc_host_interface, get_tx_context),
        offset_of!(evmc_host_interface, get_block_hash),
        offset_of!(evmc_host_interface, emit_log),
        offset_of!(evmc_host_interface, access_account),
        offset_of!(evmc_host_interface, access_storage),
        offset_of!(evmc_host_interface, get_transient_storage),
        offset_of!(evmc_host_interface, set_transient_storage),
    ];
    for (i, off) in offsets.into_iter().enumerate() {
        assert_eq!(off, 8 * i, "host function #{i}");
    }
}
