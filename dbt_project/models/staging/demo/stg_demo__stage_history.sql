{{ files_contract_stage_history('demo') }}
