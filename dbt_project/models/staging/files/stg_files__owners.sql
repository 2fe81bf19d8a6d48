{{ files_contract_owners('files') }}
