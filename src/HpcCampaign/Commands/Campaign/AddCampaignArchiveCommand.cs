using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Records an archival storage location (tape, file system, https, S3, a TAR file) and imports a TAR index.</para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "CampaignArchive", SupportsShouldProcess = true)]
[OutputType(typeof(CampaignArchiveStorage))]
public sealed class AddCampaignArchiveCommand : CampaignCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ArchivePath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Archival system: Kronos, HPSS, fs, https, S3 (http and ftp are accepted too).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateSet("Kronos", "HPSS", "fs", "https", "http", "ftp", "S3")]
    public string System { get; set; } = "";

    /// <summary>Host (short) name of the storage; inserted when new.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [ValidateNotNullOrEmpty]
    public string HostName { get; set; } = "";

    /// <summary>Directory (or bucket path) on that host.</summary>
    [Parameter(Mandatory = true, Position = 3)]
    [ValidateNotNullOrEmpty]
    public string Directory { get; set; } = "";

    /// <summary>TAR file relative to the directory ('' = the directory itself).</summary>
    [Parameter(Position = 4)]
    public string? TarName { get; set; }

    /// <summary>taridx CSV (New-CampaignTarIndex) of the TAR file: matching replicas get archived copies.</summary>
    [Parameter(Position = 5)]
    [ValidateNotNullOrEmpty]
    public string? TarIndex { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LongHostName { get; set; }

    /// <summary>A notes file stored as-is in archive.notes.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Note { get; set; }

    protected override void ProcessRecord()
    {
        var archive = ResolveArchive(Path, mustExist: true);
        if (archive is null) return;
        string? index = null;
        if (TarIndex is not null)
        {
            var found = ResolveExistingPaths(new[] { TarIndex }, literal: true);
            if (found.Count == 0) return;
            index = found[0];
        }
        byte[]? notes = null;
        if (Note is not null)
        {
            var found = ResolveExistingPaths(new[] { Note }, literal: true);
            if (found.Count == 0) return;
            notes = File.ReadAllBytes(found[0]);
        }
        if (!ShouldProcess(archive, $"Add {System} storage {HostName}:{Directory}{(string.IsNullOrEmpty(TarName) ? "" : "/" + TarName)}")) return;
        RunWork((sink, _) =>
        {
            sink.Output(CampaignEdit.AddArchive(archive, System, HostName, Directory, TarName, index, LongHostName, notes));
            return Task.CompletedTask;
        }, archive);
    }
}
