{{ files_contract_accounts('files') }}
