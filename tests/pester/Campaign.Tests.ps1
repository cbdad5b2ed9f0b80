# Pester 5 suite for the campaign archive cmdlets; run in a fresh pwsh:  Invoke-Pester tests/pester/Campaign.Tests.ps1
BeforeAll {
    $repo = (Resolve-Path "$PSScriptRoot/../..").Path
    $env:HPCCAMPAIGN_CONFIG_PATH = Join-Path $TestDrive 'config'
    Import-Module (Join-Path $repo 'HpcCampaign.psd1') -Force
    $fixtures = Join-Path $repo '../shared/fixtures/campaign'
    if (-not (Test-Path $fixtures)) { $fixtures = '/work/shared/fixtures/campaign' }
}

Describe 'Campaign archives' {
    BeforeEach {
        $work = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Copy-Item (Join-Path $fixtures 'demo-campaign-source') $work -Recurse
        Get-ChildItem $work -Recurse -File | ForEach-Object { $_.IsReadOnly = $false }
        Push-Location $work
    }
    AfterEach { Pop-Location }

    It 'adds every kind in one call each and lists them' {
        Add-CampaignDataset demo.aca sim/run1.bp, sim/*.h5 -HostName demohost
        Add-CampaignText demo.aca docs/README.txt -Store
        Add-CampaignImage demo.aca plots/t0.png -Store
        $ds = Get-CampaignDataset demo.aca
        $ds | Should -HaveCount 5
        ($ds | Where-Object Format -eq 'HDF5') | Should -HaveCount 2
        (Get-Campaign demo.aca).DatasetCount | Should -Be 5
    }

    It 'computes the same uuids as the original tool' {
        Get-CampaignDataset (Join-Path $fixtures 'demo.aca') -Name 'sim/run1.bp' |
            Select-Object -ExpandProperty Uuid | Should -BeExactly 'a20afbdb9ed6323496b19b802f0e9a15'
    }

    It 'previews a pipeline removal with -WhatIf and leaves the file unchanged' {
        Add-CampaignDataset x.aca sim/run1.bp, sim/run2.bp
        $before = [IO.File]::ReadAllBytes((Join-Path $work 'x.aca'))
        Get-CampaignDataset x.aca -Name 'sim/run*' | Remove-CampaignDataset -WhatIf
        [IO.File]::ReadAllBytes((Join-Path $work 'x.aca')) | Should -Be $before
        Get-CampaignDataset x.aca -Name 'sim/run*' | Remove-CampaignDataset
        Get-CampaignDataset x.aca | Should -BeNullOrEmpty
    }

    It 'exports the original encrypted README with demo.key' {
        $files = (Get-CampaignDataset (Join-Path $fixtures 'demo-encrypted.aca') -Name docs/README.txt).Replicas.Files
        $out = $files | Export-CampaignFile -Key (Join-Path $fixtures 'demo.key') -Destination (Join-Path $work 'readme.out')
        Get-Content $out.Path -Raw | Should -BeExactly (Get-Content (Join-Path $work 'docs/README.txt') -Raw)
    }

    It 'reports a name with a quote by its own error id' {
        Set-Content "it's.txt" 'q'
        Add-CampaignText q.aca "it's.txt" -Store -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'NameContainsQuote,HpcCampaign.Commands.Campaign.AddCampaignTextCommand'
        Test-Path q.aca | Should -BeFalse
    }
}
