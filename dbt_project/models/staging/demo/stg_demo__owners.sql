{{ files_contract_owners('demo') }}
