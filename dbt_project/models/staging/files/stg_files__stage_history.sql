{{ files_contract_stage_history('files') }}
