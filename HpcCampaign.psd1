@{
    RootModule           = 'module/HpcCampaign.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f4c2d0e-8f2b-4d43-9a1e-5b7c3e2a9d61'
    Author               = 'HpcCampaign developers'
    CompanyName          = 'HpcCampaign'
    Copyright            = '(c) HpcCampaign developers. MIT licence.'
    Description          = 'Move and catalogue large scientific data between sites: campaign archives (.aca), hot-directory delivery over SFTP, synchrotron repatriation, Rucio batch upload and Kafka topic archives.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @(
        'formats/HpcCampaign.Format.ps1xml'
        'formats/HpcCampaign.Campaign.Format.ps1xml'
        'formats/HpcCampaign.Connector.Format.ps1xml'
        'formats/HpcCampaign.HotDirectory.Format.ps1xml'
        'formats/HpcCampaign.Synchrotron.Format.ps1xml'
        'formats/HpcCampaign.Rucio.Format.ps1xml'
        'formats/HpcCampaign.TopicArchive.Format.ps1xml'
    )
    TypesToProcess       = @('formats/HpcCampaign.Types.ps1xml')
    CmdletsToExport      = @(
        # keys and configuration
        'New-CampaignKey'
        'Get-CampaignKey'
        'Test-CampaignKey'
        'Get-CampaignHost'
        # campaign archives
        'New-Campaign'
        'Get-Campaign'
        'Add-CampaignDataset'
        'Add-CampaignText'
        'Add-CampaignImage'
        'Get-CampaignDataset'
        'Remove-CampaignDataset'
        'Add-CampaignArchive'
        'New-CampaignTarIndex'
        'Add-CampaignReplica'
        'Set-CampaignTimeSeries'
        'Update-Campaign'
        'Export-CampaignFile'
        'Add-CampaignScalarField'
        'Add-CampaignVisualization'
        # campaign connector
        'Start-CampaignConnector'
        'Stop-CampaignConnector'
        'Get-CampaignConnector'
        # hot directory
        'Start-HotDirectory'
        'Stop-HotDirectory'
        'Get-HotDirectoryStatus'
        'Get-HotDirectoryDeadLetter'
        'Restore-HotDirectoryDeadLetter'
        'Register-HotDirectory'
        'Unregister-HotDirectory'
        # synchrotron
        'Get-SynchrotronEpn'
        'Sync-SynchrotronEpn'
        'Send-SynchrotronEpnAlert'
        'Register-SynchrotronSync'
        # rucio
        'Send-RucioBatch'
        # topic archive
        'Start-TopicArchive'
        'Get-TopicArchiveRecord'
        'Test-TopicArchive'
        'Remove-TopicArchiveDuplicate'
        'Restore-TopicArchive'
        'Get-TopicArchiveStatus'
        'Send-TopicArchiveTestMessage'
        'Remove-TopicArchiveTestMessage'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('HPC', 'ADIOS2', 'Campaign', 'SFTP', 'Rucio', 'Kafka', 'Linux', 'PSEdition_Core')
            ReleaseNotes = 'See README.md'
        }
    }
}
