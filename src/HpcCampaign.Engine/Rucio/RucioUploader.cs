using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace HpcCampaign.Engine.Rucio;

/// <summary>
/// Native transport of Send-RucioBatch (spec §2.5–2.6, register first): per batch, checksums (adler32 + md5 in one
/// read), one POST /replicas/list to find what is already there (resume), replicas registered in state C and a rule
/// per file (or the dataset's rule), each file uploaded and verified against the storage's stat, then PUT
/// /replicas/ state A and attach to the dataset. Batches run on ThrottleLimit workers; a failure hits one file (or
/// one batch), never the run.
/// </summary>
public sealed class RucioUploader
{
    private const int ProgressId = 51;
    private readonly RucioConfig _config;
    private readonly RucioUploadOptions _options;
    private readonly StorageCredentials _credentials;
    private readonly IHpcSink _sink;
    private readonly RucioSummary _summary;
    private readonly Stopwatch _sinceSave = Stopwatch.StartNew();
    private RucioRestClient _client = null!;
    private RseInfo _rse = null!;
    private IReadOnlyList<RseProtocol> _protocols = null!;
    private int _batchesDone, _uploaded, _skipped, _failed;

    public RucioUploader(RucioConfig config, RucioUploadOptions options, IHpcSink sink, StorageCredentials? credentials = null)
    {
        _config = config;
        _options = options;
        _sink = sink;
        _credentials = credentials ?? StorageCredentials.From(config);
        _summary = RucioSummary.Open(options.SummaryPath);
    }

    public static List<List<T>> Batches<T>(IReadOnlyList<T> items, int size)
    {
        var result = new List<List<T>>();
        for (var i = 0; i < items.Count; i += size) result.Add(items.Skip(i).Take(size).ToList());
        return result;
    }

    public async Task<IReadOnlyList<RucioUploadRecord>> RunAsync(IReadOnlyList<RucioUploadItem> items, CancellationToken ct)
    {
        var records = new List<RucioUploadRecord>();
        var unique = RucioBatchCommon.RejectDuplicateNames(items, _options, _sink, records, _summary);
        using var client = _client = new RucioRestClient(_config, _options.Backoff);
        var account = await client.WhoAmIAsync(ct).ConfigureAwait(false);
        _sink.Verbose($"Rucio {_config.RucioHost} as account {account} ({_config.AuthType}).");
        _rse = await client.GetRseAsync(_options.Rse, ct).ConfigureAwait(false);
        if (!_rse.AvailabilityWrite)
            throw new HpcException("RseNotWritable", HpcErrorKind.ResourceUnavailable, $"The RSE '{_rse.Name}' is not available for writing.", _rse.Name);
        if (!_rse.Deterministic)
            throw new HpcException("RseNotDeterministic", HpcErrorKind.NotImplemented,
                $"The RSE '{_rse.Name}' is not deterministic: physical names must be given, which Send-RucioBatch does not do; use -RucioCommand.", _rse.Name);
        _protocols = _rse.WriteProtocols(_options.Impl, _options.Scheme);
        if (_protocols.Count == 0)
            throw new HpcException("NoWriteProtocol", HpcErrorKind.ObjectNotFound,
                $"The RSE '{_rse.Name}' has no write protocol{(_options.Impl is null ? "" : " with impl " + _options.Impl)}{(_options.Scheme is null ? "" : " and scheme " + _options.Scheme)}.", _rse.Name);
        _sink.Verbose($"RSE {_rse.Name}: lfn2pfn {_rse.Lfn2PfnAlgorithm}, write protocols {string.Join(", ", _protocols.Select(p => p.Scheme + "://" + p.Hostname + ":" + p.Port))}.");
        await EnsureDatasetAsync(ct).ConfigureAwait(false);

        var batches = Batches(unique, Math.Max(1, _options.BatchSize));
        var channel = Channel.CreateUnbounded<(int Number, List<RucioUploadItem> Items)>();
        for (var i = 0; i < batches.Count; i++) channel.Writer.TryWrite((i + 1, batches[i]));
        channel.Writer.Complete();
        var workerCount = Math.Clamp(_options.ThrottleLimit, 1, Math.Max(1, batches.Count));
        var workers = Enumerable.Range(0, workerCount).Select(_ => Task.Run(async () =>
        {
            var storages = new Dictionary<RseProtocol, IRucioStorage>();
            try
            {
                (int Number, Task<List<FileWork>> Files)? Take() =>
                    channel.Reader.TryRead(out var b) ? (b.Number, Task.Run(() => PrepareAsync(b.Number, b.Items, ct), ct)) : null;
                var next = Take();
                while (next is { } current)
                {
                    var files = await current.Files.ConfigureAwait(false);
                    // while a batch uploads, read and checksum the next one (the other core's work), unless that
                    // would leave another worker without a batch
                    next = channel.Reader.Count >= workerCount ? Take() : null;
                    var done = await RunBatchAsync(current.Number, files, storages, ct).ConfigureAwait(false);
                    lock (records) records.AddRange(done);
                    Report(batches.Count);
                    next ??= Take();
                }
            }
            finally
            {
                foreach (var s in storages.Values) s.Dispose();
            }
        }, ct)).ToList();
        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        finally
        {
            _summary.Save();
            _sink.Progress(new HpcProgress(ProgressId, "Send-RucioBatch", "done") { Completed = true });
        }
        return records;
    }

    private void Report(int total)
    {
        var done = Interlocked.Increment(ref _batchesDone);
        _sink.Progress(new HpcProgress(ProgressId, $"Send-RucioBatch to {_options.Rse}",
            $"batch {done}/{total}: {_uploaded} uploaded, {_skipped} skipped, {_failed} failed") { PercentComplete = done * 100 / total });
        lock (_sinceSave)
        {
            if (_sinceSave.Elapsed < TimeSpan.FromSeconds(2)) return;
            _summary.Save();
            _sinceSave.Restart();
        }
    }

    private async Task EnsureDatasetAsync(CancellationToken ct)
    {
        if (_options.DatasetDid is not { } ds) return;
        var existing = await _client.GetDidAsync(ds.Scope, ds.Name, ct).ConfigureAwait(false);
        if (existing is null)
        {
            await _client.AddDatasetAsync(ds.Scope, ds.Name, _options.Rse, _options.Lifetime, ct).ConfigureAwait(false);
            _sink.Verbose($"Created dataset {ds.Scope}:{ds.Name} with a rule on {_options.Rse}.");
            return;
        }
        var type = (string?)existing["type"];
        if (type is not null && !type.Equals("DATASET", StringComparison.OrdinalIgnoreCase))
            throw new HpcException("DatasetIsNotADataset", HpcErrorKind.InvalidArgument, $"{ds.Scope}:{ds.Name} exists and is a {type}, not a dataset.", _options.Dataset);
        if (_options.Lifetime is not null)
            _sink.Warning($"Dataset {ds.Scope}:{ds.Name} exists already: its rule (and lifetime) is left as it is; -Lifetime is not applied.");
    }

    // ---- one batch ----------------------------------------------------------------------------------------------

    private sealed class FileWork
    {
        public required RucioUploadItem Item { get; init; }
        public FileChecksums? Sums;
        public string Guid = System.Guid.NewGuid().ToString("N");
        public string? Pfn;
        public bool NeedsRegistration = true;
        public bool NeedsUpload = true;
        public int Attempts;
        public RucioUploadRecord? Result;
        public (string, string) Did(string scope) => (scope, Item.Name);
    }

    private RucioUploadRecord Record(FileWork f, int batch, RucioUploadState state, HpcException? error = null) =>
        new(f.Item.Path, _options.Scope, f.Item.Name, f.Sums?.Bytes ?? SafeLength(f.Item.Path), f.Sums?.Adler32, f.Sums?.Md5, f.Pfn,
            _options.Rse, f.Guid, state, error?.Message, error?.ErrorId, batch, f.Attempts);

    private static long SafeLength(string path)
    {
        try { return new FileInfo(path).Length; } catch (Exception) { return -1; }
    }

    private void Fail(FileWork f, int batch, HpcException error)
    {
        if (f.Result is not null) return;
        f.Result = Record(f, batch, RucioUploadState.Failed, new HpcException(error.ErrorId, error.Kind, error.Message, f.Item.Path, error.InnerException));
    }

    /// <summary>Checksums (register first) or existence (register after upload) of a batch's files; runs ahead of the upload.</summary>
    private async Task<List<FileWork>> PrepareAsync(int batch, List<RucioUploadItem> items, CancellationToken ct)
    {
        var files = items.Select(i => new FileWork { Item = i }).ToList();
        foreach (var f in files)
        {
            try
            {
                f.Pfn = _protocols[0].Pfn(Lfn2Pfn.Path(_rse.Lfn2PfnAlgorithm, _options.Scope, f.Item.Name));
                if (!_options.RegisterAfterUpload) await ChecksumAsync(f, ct).ConfigureAwait(false);
                else if (!File.Exists(f.Item.Path)) throw new FileNotFoundException("The file does not exist.", f.Item.Path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or HpcException)
            {
                Fail(f, batch, ex as HpcException ?? new HpcException("FileReadFailed", HpcErrorKind.ResourceUnavailable, $"Cannot read '{f.Item.Path}': {ex.Message}", f.Item.Path, ex));
            }
        }
        return files;
    }

    private async Task<List<RucioUploadRecord>> RunBatchAsync(int batch, List<FileWork> files, Dictionary<RseProtocol, IRucioStorage> storages, CancellationToken ct)
    {
        try
        {
            await CheckExistingAsync(batch, files.Where(f => f.Result is null).ToList(), ct).ConfigureAwait(false);
            if (!_options.RegisterAfterUpload)
                await RegisterAsync(batch, files.Where(f => f.Result is null && f.NeedsRegistration).ToList(), "C", ct).ConfigureAwait(false);
            foreach (var f in files.Where(f => f.Result is null && f.NeedsUpload))
                await UploadAsync(batch, f, storages, ct).ConfigureAwait(false);
            var uploaded = files.Where(f => f.Result is null && f.NeedsUpload).ToList();
            if (_options.RegisterAfterUpload)
            {
                await RegisterAsync(batch, files.Where(f => f.Result is null && f.NeedsRegistration).ToList(), "A", ct).ConfigureAwait(false);
                uploaded = uploaded.Where(f => f.Result is null && !f.NeedsRegistration).ToList();
            }
            await EachWithBulkAsync(batch, uploaded, fs => _client.UpdateReplicaStatesAsync(_options.Rse, fs.Select(f => ReplicaJson(f, "A")), ct), "ReplicaStateUpdateFailed", ct).ConfigureAwait(false);
            if (_options.DatasetDid is { } ds)
                await EachWithBulkAsync(batch, files.Where(f => f.Result is null).ToList(),
                    fs => _client.AttachDidsAsync(ds.Scope, ds.Name, fs.Select(f => f.Did(_options.Scope)), ct), "AttachFailed", ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // a failure of the whole batch (e.g. the Rucio server gone): every unfinished file of it is failed
            var error = ex as HpcException ?? new HpcException("BatchFailed", HpcErrorKind.NotSpecified, $"Batch {batch} failed: {ex.Message}", batch, ex);
            foreach (var f in files.Where(f => f.Result is null)) Fail(f, batch, error);
        }
        var results = new List<RucioUploadRecord>();
        foreach (var f in files)
        {
            var r = f.Result ?? Record(f, batch, f.NeedsUpload ? RucioUploadState.Uploaded : RucioUploadState.Skipped);
            results.Add(r);
            _summary.Add(r);
            switch (r.State)
            {
                case RucioUploadState.Uploaded: Interlocked.Increment(ref _uploaded); break;
                case RucioUploadState.Skipped: Interlocked.Increment(ref _skipped); break;
                default: Interlocked.Increment(ref _failed); break;
            }
            _sink.Output(r);
            if (r.State == RucioUploadState.Failed)
                _sink.Error(new HpcException(r.ErrorId ?? "UploadFailed", KindOf(r.ErrorId), $"{r.Did}: {r.Error}", r.Path));
        }
        return results;
    }

    private static HpcErrorKind KindOf(string? id) => id switch
    {
        "ChecksumMismatch" or "SizeMismatch" or "RucioDataIdentifierAlreadyExists" => HpcErrorKind.InvalidData,
        "RucioAuthenticationFailed" or "StorageAuthenticationFailed" => HpcErrorKind.AuthenticationError,
        "StorageAccessDenied" or "HostKeyMismatch" => HpcErrorKind.PermissionDenied,
        "FileReadFailed" => HpcErrorKind.ResourceUnavailable,
        _ => HpcErrorKind.ResourceUnavailable,
    };

    private JsonObject ReplicaJson(FileWork f, string state) => new()
    {
        ["scope"] = _options.Scope,
        ["name"] = f.Item.Name,
        ["bytes"] = f.Sums!.Bytes,
        ["adler32"] = f.Sums.Adler32,
        ["md5"] = f.Sums.Md5,
        ["meta"] = new JsonObject { ["guid"] = f.Guid },
        ["state"] = state,
    };

    /// <summary>Resume: files whose DID already has a replica here with the same adler32 are skipped; a different adler32 is an error.</summary>
    private async Task CheckExistingAsync(int batch, List<FileWork> files, CancellationToken ct)
    {
        if (files.Count == 0) return;
        var replicas = await WithRetryAsync(() => _client.ListReplicasAsync(files.Select(f => f.Did(_options.Scope)), ct), ct).ConfigureAwait(false);
        var byDid = replicas.GroupBy(r => $"{(string?)r["scope"]}:{(string?)r["name"]}").ToDictionary(g => g.Key, g => g.First());
        foreach (var f in files)
        {
            if (!byDid.TryGetValue($"{_options.Scope}:{f.Item.Name}", out var existing)) continue;
            try
            {
                await ChecksumAsync(f, ct).ConfigureAwait(false); // already there: compare before sending anything
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Fail(f, batch, new HpcException("FileReadFailed", HpcErrorKind.ResourceUnavailable, $"Cannot read '{f.Item.Path}': {ex.Message}", f.Item.Path, ex));
                continue;
            }
            var remoteAdler = (string?)existing["adler32"];
            var remoteBytes = existing["bytes"]?.GetValue<long>();
            if ((remoteAdler is not null && !Adler32.Same(remoteAdler, f.Sums!.Adler32)) || (remoteBytes is not null && remoteBytes != f.Sums!.Bytes))
            {
                Fail(f, batch, new HpcException("RucioDataIdentifierAlreadyExists", HpcErrorKind.InvalidData,
                    $"{_options.Scope}:{f.Item.Name} already exists with adler32 {remoteAdler} and {remoteBytes} bytes; the local file has {f.Sums!.Adler32} and {f.Sums.Bytes} bytes.", f.Item.Path));
                continue;
            }
            var states = existing["states"] as JsonObject;
            var onRse = (existing["rses"] as JsonObject)?[_options.Rse] as JsonArray;
            var state = (string?)states?[_options.Rse];
            if (onRse is not null || state is not null)
            {
                f.NeedsRegistration = false;
                if (onRse?.FirstOrDefault() is JsonNode p) f.Pfn = (string?)p ?? f.Pfn;
                if (state is "AVAILABLE" or "A")
                {
                    f.NeedsUpload = false;
                    f.Guid = (string?)_summary.Previous($"{_options.Scope}:{f.Item.Name}")?["guid"]
                        ?? (string?)(await _client.GetMetadataAsync(_options.Scope, f.Item.Name, ct).ConfigureAwait(false))?["guid"] ?? f.Guid;
                    f.Guid = f.Guid.Replace("-", "").ToLowerInvariant();
                }
            }
            else
            {
                // the DID exists (same checksum) but has no replica here: register one, no new rule is needed for the DID
                f.NeedsRegistration = true;
            }
        }
    }

    private static async Task ChecksumAsync(FileWork f, CancellationToken ct) =>
        f.Sums ??= await FileChecksums.ComputeAsync(f.Item.Path, ct).ConfigureAwait(false);

    private async Task RegisterAsync(int batch, List<FileWork> files, string state, CancellationToken ct)
    {
        if (files.Count == 0) return;
        await EachWithBulkAsync(batch, files, fs => _client.AddReplicasAsync(_options.Rse, fs.Select(f => ReplicaJson(f, state)), ct), "ReplicaRegistrationFailed", ct).ConfigureAwait(false);
        if (_options.DatasetDid is null)
            await EachWithBulkAsync(batch, files.Where(f => f.Result is null).ToList(),
                fs => _client.AddRuleAsync(fs.Select(f => f.Did(_options.Scope)), _options.Rse, _options.Lifetime, ct), "RuleCreationFailed", ct).ConfigureAwait(false);
    }

    /// <summary>One call for the whole batch (with retries); if it still fails, one call per file so only the bad ones fail.</summary>
    private async Task EachWithBulkAsync(int batch, List<FileWork> files, Func<List<FileWork>, Task> call, string errorId, CancellationToken ct)
    {
        if (files.Count == 0) return;
        try
        {
            await WithRetryAsync(async () => { await call(files).ConfigureAwait(false); return 0; }, ct).ConfigureAwait(false);
            return;
        }
        catch (HpcException ex) when (files.Count > 1 && ex.Kind != HpcErrorKind.AuthenticationError)
        {
            _sink.Verbose($"Batch {batch}: bulk call failed ({ex.ErrorId}); retrying file by file.");
        }
        foreach (var f in files)
        {
            try
            {
                await WithRetryAsync(async () => { await call(new List<FileWork> { f }).ConfigureAwait(false); return 0; }, ct).ConfigureAwait(false);
            }
            catch (HpcException ex)
            {
                Fail(f, batch, ex.ErrorId.StartsWith("Rucio", StringComparison.Ordinal) && ex.ErrorId != "RucioServerError" ? ex
                    : new HpcException(errorId, ex.Kind, ex.Message, f.Item.Path, ex));
            }
        }
    }

    /// <summary>Retries calls that may succeed later (connection, 5xx); not answers that will not change (4xx).</summary>
    private async Task<T> WithRetryAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (HpcException ex) when (attempt + 1 < _options.Attempts && ex.Kind is HpcErrorKind.ConnectionError or HpcErrorKind.ResourceUnavailable)
            {
                await Task.Delay(_options.Backoff(attempt), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task UploadAsync(int batch, FileWork f, Dictionary<RseProtocol, IRucioStorage> storages, CancellationToken ct)
    {
        HpcException? last = null;
        for (var attempt = 0; attempt < _options.Attempts; attempt++)
        {
            if (attempt > 0) await Task.Delay(_options.Backoff(attempt - 1), ct).ConfigureAwait(false);
            foreach (var protocol in _protocols)
            {
                var pfn = protocol.Pfn(Lfn2Pfn.Path(_rse.Lfn2PfnAlgorithm, _options.Scope, f.Item.Name));
                f.Attempts++;
                try
                {
                    if (!storages.TryGetValue(protocol, out var storage))
                        storages[protocol] = storage = RucioStorage.Create(protocol, _rse, _client, _credentials);
                    await using (var file = HashingReadStream.OpenFile(f.Item.Path))
                    {
                        // without checksums yet (register after upload) they are computed from this, the only read
                        var content = new HashingReadStream(file, hashing: f.Sums is null);
                        await storage.PutAsync(content, pfn, ct).ConfigureAwait(false);
                        f.Sums ??= content.Result() ?? await FileChecksums.ComputeAsync(file.Name, ct).ConfigureAwait(false);
                    }
                    await VerifyAsync(storage, f, pfn, ct).ConfigureAwait(false);
                    f.Pfn = pfn;
                    return;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    last = ex as HpcException ?? new HpcException("UploadFailed", HpcErrorKind.ResourceUnavailable, $"Upload to {pfn} failed: {ex.Message}", f.Item.Path, ex);
                    if (storages.Remove(protocol, out var broken)) broken.Dispose(); // reconnect on the next try
                    _sink.Verbose($"{_options.Scope}:{f.Item.Name}: attempt {f.Attempts} via {protocol.Scheme} failed: {last.Message}");
                    if (last.ErrorId is "HostKeyMismatch" or "SshKeyNotFound" or "ProtocolNotSupported") break;
                }
            }
            if (last?.ErrorId is "HostKeyMismatch" or "SshKeyNotFound" or "ProtocolNotSupported") break;
        }
        Fail(f, batch, last!);
    }

    private async Task VerifyAsync(IRucioStorage storage, FileWork f, string pfn, CancellationToken ct)
    {
        if (_rse.SkipUploadStat) return;
        RemoteStat? stat = null;
        for (var i = 0; i < Math.Max(1, _config.StatRetries); i++)
        {
            stat = await storage.StatAsync(pfn, ct).ConfigureAwait(false);
            if (stat is not null && (stat.Bytes > 0 || f.Sums!.Bytes == 0)) break;
            if (i + 1 < _config.StatRetries) await Task.Delay(_options.Backoff(i), ct).ConfigureAwait(false);
        }
        if (stat is null)
            throw new HpcException("UploadNotFound", HpcErrorKind.ResourceUnavailable, $"After the upload the storage has nothing at {pfn}.", f.Item.Path);
        if (stat.Bytes != f.Sums!.Bytes)
            throw new HpcException("SizeMismatch", HpcErrorKind.InvalidData, $"The storage has {stat.Bytes} bytes at {pfn}; the file has {f.Sums.Bytes}.", f.Item.Path);
        if (!_rse.VerifyChecksum) return;
        if (stat.Adler32 is not null)
        {
            if (!Adler32.Same(stat.Adler32, f.Sums.Adler32))
                throw new HpcException("ChecksumMismatch", HpcErrorKind.InvalidData, $"The storage reports adler32 {stat.Adler32} at {pfn}; the file has {f.Sums.Adler32}.", f.Item.Path);
        }
        else if (stat.Md5 is not null)
        {
            if (!string.Equals(stat.Md5, f.Sums.Md5, StringComparison.OrdinalIgnoreCase))
                throw new HpcException("ChecksumMismatch", HpcErrorKind.InvalidData, $"The storage reports md5 {stat.Md5} at {pfn}; the file has {f.Sums.Md5}.", f.Item.Path);
        }
        else if (stat.ContentVerified == false)
        {
            throw new HpcException("ChecksumMismatch", HpcErrorKind.InvalidData, $"The storage's ETag at {pfn} does not match the parts sent.", f.Item.Path);
        }
        else if (stat.ContentVerified is null)
        {
            _sink.Verbose($"{pfn}: the storage reports no checksum; verified the size only.");
        }
    }
}
