{{ files_contract_stages('demo') }}
