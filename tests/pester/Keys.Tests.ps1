# Pester 5 suite for the key and configuration cmdlets. Run with full pwsh 7.4+:  ./build.ps1 -Task Test
BeforeAll {
    $manifest = $env:HPCC_MODULE_MANIFEST ?? (Join-Path $PSScriptRoot '../../HpcCampaign.psd1')
    Import-Module $manifest -Force
    $env:HPCCAMPAIGN_CONFIG_PATH = Join-Path $TestDrive 'config'
    $fixtureKey = Join-Path $PSScriptRoot '../../../shared/fixtures/campaign/demo.key'
}

Describe 'New-CampaignKey' {
    It 'writes a key file only readable by its owner' -Skip:$IsWindows {
        $k = New-CampaignKey -Path (Join-Path $TestDrive 'a.key') -Note 'pester'
        $k | Should -BeOfType ([HpcCampaign.CampaignKeyInfo])
        $k.Id | Should -Match '^[0-9a-f]{32}$'
        (Get-Item (Join-Path $TestDrive 'a.key')).UnixMode | Should -Be '-rw-------'
    }
    It 'does nothing with -WhatIf' {
        New-CampaignKey -Path (Join-Path $TestDrive 'w.key') -WhatIf
        Join-Path $TestDrive 'w.key' | Should -Not -Exist
    }
    It 'refuses to overwrite without -Force' {
        $null = New-CampaignKey -Path (Join-Path $TestDrive 'o.key')
        New-CampaignKey -Path (Join-Path $TestDrive 'o.key') -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'KeyFileExists,HpcCampaign.Commands.Keys.NewCampaignKeyCommand'
    }
}

Describe 'Get-CampaignKey and Test-CampaignKey' {
    It 'reads the original tool''s key file' {
        $k = Get-CampaignKey -LiteralPath $fixtureKey
        $k.Id | Should -Be '9d137a56f6884765942bfd88a47063ab'
        $k.IsProtected | Should -BeFalse
    }
    It 'tells a right password from a wrong one' {
        $pw = ConvertTo-SecureString 'right' -AsPlainText -Force
        $bad = ConvertTo-SecureString 'wrong' -AsPlainText -Force
        $null = New-CampaignKey -Path (Join-Path $TestDrive 'p.key') -Password $pw
        (Get-CampaignKey (Join-Path $TestDrive 'p.key') | Test-CampaignKey -Password $pw).IsValid | Should -BeTrue
        (Test-CampaignKey (Join-Path $TestDrive 'p.key') -Password $bad).IsValid | Should -BeFalse
    }
    It 'runs as a job' {
        $job = Test-CampaignKey -LiteralPath $fixtureKey -AsJob
        $job | Should -BeOfType ([System.Management.Automation.Job])
        $r = Receive-Job $job -Wait -AutoRemoveJob
        $r.IsValid | Should -BeTrue
    }
    It 'rejects non-file-system paths' {
        Get-CampaignKey -Path Env:PATH -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'NotFileSystemPath,HpcCampaign.Commands.Keys.GetCampaignKeyCommand'
    }
}

Describe 'Module' {
    It 'exports exactly the manifest''s cmdlets, each with help' {
        $data = Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../HpcCampaign.psd1')
        (Get-Command -Module HpcCampaign).Name | Sort-Object | Should -Be ($data.CmdletsToExport | Sort-Object)
        foreach ($c in $data.CmdletsToExport) {
            (Get-Help $c).Synopsis | Should -Not -BeNullOrEmpty
            @((Get-Help $c -Examples).examples.example).Count | Should -BeGreaterThan 0
        }
    }
    It 'keeps the engine''s YamlDotNet in its own load context' {
        Get-CampaignHost | Out-Null
        $yaml = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'YamlDotNet' }
        $ctx = $yaml | ForEach-Object { [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name }
        $ctx | Should -Contain 'HpcCampaign.Engine'
    }
}
