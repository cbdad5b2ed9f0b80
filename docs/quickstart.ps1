# Quick start on the embedded defaults: run with  dotnet run --project src/HpcCampaign.Host -- -File docs/quickstart.ps1
# Everything goes to a scratch folder; nothing outside it is touched.
$work = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'hpccampaign-quickstart-' + [System.Guid]::NewGuid().ToString('N').Substring(0, 8))
[System.IO.Directory]::CreateDirectory($work) | Out-Null
$ExecutionContext.SessionState.Path.SetLocation($work) | Out-Null
"Working in $work"

New-CampaignKey -Path ./demo.key -Note 'quick start key' | Out-Default
Get-CampaignKey ./demo.key | Test-CampaignKey | Out-Default

# The main job on the embedded default: a small campaign archive (SQLite .aca) describing files made here.
[System.IO.Directory]::CreateDirectory("$work/docs") | Out-Null
[System.IO.Directory]::CreateDirectory("$work/sim/run1.bp") | Out-Null
[System.IO.File]::WriteAllText("$work/docs/README.txt", "Quick-start campaign: what the data is and where it lives.`n")
[System.IO.File]::WriteAllText("$work/docs/secret.txt", "Only readers with demo.key can open this.`n")
'md.0', 'mmd.0', 'md.idx', 'data.0' | ForEach-Object { [System.IO.File]::WriteAllText("$work/sim/run1.bp/$_", "bytes of $_") }

New-Campaign ./quickstart.aca | Out-Null
Add-CampaignText ./quickstart.aca docs/README.txt -Store                   # stored (zlib)
Add-CampaignText ./quickstart.aca docs/secret.txt -Store -Key ./demo.key   # stored and sealed with the key
Add-CampaignDataset ./quickstart.aca sim/run1.bp                           # ADIOS2 BP5 folder: metadata embedded
Get-Campaign ./quickstart.aca | Out-Default
Get-CampaignDataset ./quickstart.aca | Out-Default
(Get-CampaignDataset ./quickstart.aca -Name docs/secret.txt).Replicas.Files |
    Export-CampaignFile -Key ./demo.key -Destination ./secret-copy.txt | Out-Default
