namespace HpcCampaign;

/// <summary>What a sync did (or, for a dry run, would do) for one EPN.</summary>
public sealed class SynchrotronSyncResult
{
    public SynchrotronSyncResult(string epn, string project, string source, string destination, string status,
        bool dryRun, bool verified, bool recorded, int exitCode, long filesTotal, long filesTransferred, long totalBytes,
        long bytesTransferred, double seconds, string[] changes)
    {
        Epn = epn;
        Project = project;
        Source = source;
        Destination = destination;
        Status = status;
        DryRun = dryRun;
        Verified = verified;
        Recorded = recorded;
        ExitCode = exitCode;
        FilesTotal = filesTotal;
        FilesTransferred = filesTransferred;
        TotalBytes = totalBytes;
        BytesTransferred = bytesTransferred;
        Seconds = seconds;
        Changes = changes;
    }

    public string Epn { get; }
    public string Project { get; }
    /// <summary>rsync source, user@host:/path/.</summary>
    public string Source { get; }
    public string Destination { get; }
    /// <summary>Synced (copied and verified), WouldSync (dry run), AlreadySynced (in the ignore list, rsync not run).</summary>
    public string Status { get; }
    public bool DryRun { get; }
    /// <summary>Every file of rsync's source listing is in the destination with the source's size.</summary>
    public bool Verified { get; }
    /// <summary>The EPN was added to the ignore list by this run.</summary>
    public bool Recorded { get; }
    /// <summary>rsync's exit code (0 for success; -1 when rsync did not run).</summary>
    public int ExitCode { get; }
    /// <summary>Regular files in the source (rsync --stats).</summary>
    public long FilesTotal { get; }
    /// <summary>Regular files transferred (or, for a dry run, that would be).</summary>
    public long FilesTransferred { get; }
    public long TotalBytes { get; }
    /// <summary>Size of the files transferred (rsync's "Total transferred file size").</summary>
    public long BytesTransferred { get; }
    public double Seconds { get; }
    /// <summary>rsync --itemize-changes lines of a dry run (what would change); empty for real runs.</summary>
    public string[] Changes { get; }

    public override string ToString() => Epn;
}
