namespace HpcCampaign.Engine.Campaign;

public sealed class CampaignAddOptions
{
    public required string ArchivePath { get; init; }
    public required CampaignHost Host { get; init; }
    /// <summary>The 32-byte secretbox key (null = no encryption) and its id.</summary>
    public byte[]? Key { get; init; }
    public string? KeyId { get; init; }
    public int ThrottleLimit { get; init; } = Math.Max(1, Environment.ProcessorCount);
    /// <summary>Create the archive when it does not exist (the original does so on the first command).</summary>
    public bool CreateIfMissing { get; init; } = true;
    public bool PassThru { get; init; }
}

/// <summary>
/// Adds items in ONE transaction: items are read (metadata extraction, compression, encryption) in parallel in
/// bounded batches and written in order with reused prepared statements. If any item fails, every failure is
/// reported and the archive is left exactly as it was.
/// </summary>
public static class CampaignAdd
{
    public const int BatchSize = 256;

    private sealed class ItemsFailed : Exception { }

    /// <summary>Returns the number of items written (0 when anything failed).</summary>
    public static int Add(CampaignAddOptions options, IReadOnlyList<CampaignItemRequest> items, IHpcSink sink, CancellationToken ct)
    {
        if (items.Count == 0) return 0;
        if (options.Key is not null && options.KeyId is null)
            throw new ArgumentException("KeyId is required with Key.", nameof(options));
        var now = CampaignDb.NowNs();
        var written = new List<long>();
        try
        {
            CampaignDb.Write(options.ArchivePath, options.CreateIfMissing, (db, tx) =>
            {
                using var writer = new CampaignWriter(db, tx, options.Host, options.KeyId, now);
                var failed = 0;
                for (int start = 0; start < items.Count; start += BatchSize)
                {
                    ct.ThrowIfCancellationRequested();
                    var count = Math.Min(BatchSize, items.Count - start);
                    var prepared = new PreparedItem?[count];
                    var errors = new HpcException?[count];
                    void PrepareOne(int i)
                    {
                        var request = items[start + i];
                        try { prepared[i] = CampaignItemReader.Prepare(request, options.Key, options.Host); }
                        catch (HpcException ex) { errors[i] = ex; }
                        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                        {
                            errors[i] = new HpcException("SourceReadFailed", HpcErrorKind.ResourceUnavailable, $"Cannot read '{request.SourcePath}': {ex.Message}", request.SourcePath, ex);
                        }
                    }
                    if (options.ThrottleLimit <= 1 || count == 1 || options.Host.IsRemote)
                        for (int i = 0; i < count; i++) PrepareOne(i);
                    else
                        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = options.ThrottleLimit, CancellationToken = ct }, PrepareOne);
                    for (int i = 0; i < count; i++)
                    {
                        if (errors[i] is { } e) { sink.Error(e); failed++; continue; }
                        if (failed > 0) continue;
                        foreach (var w in prepared[i]!.Warnings) sink.Warning(w);
                        written.Add(writer.Write(prepared[i]!));
                    }
                    if (items.Count > BatchSize)
                        sink.Progress(new HpcProgress(1, "Adding to " + options.ArchivePath, $"{start + count} of {items.Count}")
                        { PercentComplete = (int)(100L * (start + count) / items.Count) });
                }
                if (failed > 0) throw new ItemsFailed();
                return 0;
            });
        }
        catch (ItemsFailed)
        {
            sink.Warning($"'{options.ArchivePath}' was not changed because some items failed.");
            return 0;
        }
        if (items.Count > BatchSize) sink.Progress(new HpcProgress(1, "Adding to " + options.ArchivePath, "done") { Completed = true });
        if (options.PassThru)
        {
            var ids = written.ToHashSet();
            foreach (var d in CampaignReader.Datasets(options.ArchivePath, new CampaignDatasetFilter { IncludeDeleted = true }))
                if (ids.Contains(d.DatasetId)) sink.Output(d);
        }
        return written.Count;
    }
}

