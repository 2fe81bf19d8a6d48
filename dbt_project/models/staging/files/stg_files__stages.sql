{{ files_contract_stages('files') }}
