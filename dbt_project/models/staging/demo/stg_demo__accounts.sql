{{ files_contract_accounts('demo') }}
