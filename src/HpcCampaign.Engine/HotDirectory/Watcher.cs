using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace HpcCampaign.Engine.HotDirectory;

/// <summary>Include/exclude globs: excludes match any path component (so ".*" skips dot-files and dot-folders);
/// includes match the file name, or the relative path when they contain '/'.</summary>
public sealed class PathFilter
{
    private readonly Regex[] _include, _exclude;
    private readonly bool[] _includeHasSlash, _excludeHasSlash;

    public PathFilter(IEnumerable<string> include, IEnumerable<string> exclude)
    {
        var inc = include.DefaultIfEmpty("*").ToArray();
        var exc = exclude.ToArray();
        _include = inc.Select(ToRegex).ToArray();
        _includeHasSlash = inc.Select(p => p.Contains('/')).ToArray();
        _exclude = exc.Select(ToRegex).ToArray();
        _excludeHasSlash = exc.Select(p => p.Contains('/')).ToArray();
    }

    private static Regex ToRegex(string glob) =>
        new("^" + Regex.Escape(glob).Replace("\\*\\*/", "(.*/)?").Replace("\\*", "[^/]*").Replace("\\?", "[^/]") + "$",
            RegexOptions.CultureInvariant | (OperatingSystem.IsWindows() ? RegexOptions.IgnoreCase : RegexOptions.None));

    public bool IsExcludedDirectory(string relDir) => Excluded(relDir);

    public bool Accepts(string relPath)
    {
        if (Excluded(relPath)) return false;
        var name = relPath[(relPath.LastIndexOf('/') + 1)..];
        for (var i = 0; i < _include.Length; i++)
            if (_include[i].IsMatch(_includeHasSlash[i] ? relPath : name)) return true;
        return false;
    }

    private bool Excluded(string relPath)
    {
        var parts = relPath.Split('/');
        for (var i = 0; i < _exclude.Length; i++)
        {
            if (_excludeHasSlash[i]) { if (_exclude[i].IsMatch(relPath)) return true; }
            else if (parts.Any(p => _exclude[i].IsMatch(p))) return true;
        }
        return false;
    }
}

/// <summary>The catalogue in memory (path → size, mtime), shared by the watcher and the senders, backed by the store.</summary>
public sealed class PostedCatalog
{
    private readonly ConcurrentDictionary<string, (long Size, long MTimeTicks)> _entries;
    private readonly ConcurrentDictionary<string, byte> _removedAfterSend = new(StringComparer.Ordinal);

    public PostedCatalog(HotDirectoryStore store)
    {
        Store = store;
        _entries = new ConcurrentDictionary<string, (long, long)>(store.LoadCatalog(), StringComparer.Ordinal);
    }

    public HotDirectoryStore Store { get; }
    public int Count => _entries.Count;
    public IEnumerable<string> Paths => _entries.Keys;
    public bool Matches(string rel, long size, long mtime) => _entries.TryGetValue(rel, out var e) && e.Size == size && e.MTimeTicks == mtime;
    public bool Contains(string rel) => _entries.ContainsKey(rel);
    public void Set(string rel, long size, long mtime) => _entries[rel] = (size, mtime);
    public void Remove(string rel) => _entries.TryRemove(rel, out _);

    /// <summary>The sender is about to delete the source after a verified send: its disappearance is not a user delete.</summary>
    public void MarkRemovedAfterSend(string rel)
    {
        _removedAfterSend[rel] = 0;
        Remove(rel);
        Store.ForgetPosted(rel);
    }

    public bool TakeRemovedAfterSend(string rel) => _removedAfterSend.TryRemove(rel, out _);
}

/// <summary>
/// Watches the folder (FileSystemWatcher = inotify on Linux) and rescans it periodically and at start, so files
/// created while stopped, during an event overflow or in a new sub-folder are found too. A file is posted once it
/// is complete: not excluded, its mtime older than the settle time and unchanged while it was checksummed; and
/// only if its (size, mtime) differs from the catalogue, so a restart neither loses nor re-sends files.
/// </summary>
public sealed class Watcher
{
    private readonly HotDirectorySettings _settings;
    private readonly IHotQueue _queue;
    private readonly PostedCatalog _catalog;
    private readonly ComponentMetrics _metrics;
    private readonly IHpcSink _sink;
    private readonly PathFilter _filter;
    private readonly ConcurrentDictionary<string, byte> _pending = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private volatile bool _rescanRequested = true;
    private readonly string _baseUrl;

    public Watcher(HotDirectorySettings settings, IHotQueue queue, PostedCatalog catalog, ComponentMetrics metrics, IHpcSink sink)
    {
        _settings = settings;
        _queue = queue;
        _catalog = catalog;
        _metrics = metrics;
        _sink = sink;
        _filter = new PathFilter(settings.Include, settings.Exclude);
        _baseUrl = "file:" + settings.WatchDirectory.Replace('\\', '/');
    }

    public int PendingCount => _pending.Count;

    public async Task RunAsync(CancellationToken ct)
    {
        using var fsw = new FileSystemWatcher(_settings.WatchDirectory)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            InternalBufferSize = 64 * 1024,
        };
        fsw.Created += (_, e) => Touch(e.FullPath, isCreate: true);
        fsw.Changed += (_, e) => Touch(e.FullPath, isCreate: false);
        fsw.Deleted += (_, e) => Touch(e.FullPath, isCreate: false);
        fsw.Renamed += (_, e) => { Touch(e.OldFullPath, false); Touch(e.FullPath, true); };
        fsw.Error += (_, _) =>
        {
            _rescanRequested = true;
            _wake.Release();
        };
        fsw.EnableRaisingEvents = true;
        var nextRescan = DateTime.UtcNow;
        while (!ct.IsCancellationRequested)
        {
            if (_rescanRequested || DateTime.UtcNow >= nextRescan)
            {
                _rescanRequested = false;
                Rescan();
                nextRescan = DateTime.UtcNow.AddSeconds(_settings.RescanSeconds);
            }
            // while the broker is away do not checksum files only to fail the publish (the senders keep reconnecting)
            var brokerDown = !_queue.Connected;
            var batch = new List<Post>();
            var batchAge = new System.Diagnostics.Stopwatch();
            foreach (var rel in _pending.Keys.OrderBy(k => k, StringComparer.Ordinal))
            {
                if (ct.IsCancellationRequested || brokerDown) break;
                // what is ready goes out before a large file is hashed, and never waits long for company
                if (batch.Count > 0 && (batchAge.ElapsedMilliseconds > 100 || IsLarge(rel)))
                {
                    brokerDown = !await FlushAsync(batch, ct).ConfigureAwait(false);
                    if (brokerDown) break;
                }
                var post = await ExamineAsync(rel, ct).ConfigureAwait(false);
                if (post is null) continue;
                if (batch.Count == 0) batchAge.Restart();
                batch.Add(post);
                if (batch.Count >= PostBatch) brokerDown = !await FlushAsync(batch, ct).ConfigureAwait(false);
            }
            if (!brokerDown && !ct.IsCancellationRequested) brokerDown = !await FlushAsync(batch, ct).ConfigureAwait(false);
            // the next pass starts when the file system reports something (after a short pause that lets a burst of
            // events gather), or after a while anyway for files that are still settling
            try
            {
                if (brokerDown) await Task.Delay(1000, ct).ConfigureAwait(false);
                else if (await _wake.WaitAsync(TimeSpan.FromMilliseconds(200), ct).ConfigureAwait(false)) await Task.Delay(10, ct).ConfigureAwait(false);
                while (_wake.CurrentCount > 0) _wake.Wait(0);
            }
            catch (OperationCanceledException) { break; }
        }
    }

    private bool IsLarge(string rel)
    {
        try { return new FileInfo(Path.Combine(_settings.WatchDirectory, rel)) is { Exists: true, Length: > 16L << 20 }; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException) { return false; }
    }

    private string Rel(string fullPath) => Path.GetRelativePath(_settings.WatchDirectory, fullPath).Replace('\\', '/');

    private void Touch(string fullPath, bool isCreate)
    {
        var rel = Rel(fullPath);
        if (rel.StartsWith("..", StringComparison.Ordinal) || rel == ".") return;
        if (isCreate && Directory.Exists(fullPath))
        {
            // a new folder (or one moved in): its files may predate the watch on it
            _rescanRequested = true;
            _wake.Release();
            return;
        }
        _pending[rel] = 0;
        _wake.Release();
    }

    private void Rescan()
    {
        // an unmounted or removed watch folder must not look like "every file was deleted"
        if (!Directory.Exists(_settings.WatchDirectory))
        {
            _sink.Warning($"The watch folder '{_settings.WatchDirectory}' is missing; waiting for it to come back.");
            return;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        stack.Push(_settings.WatchDirectory);
        while (stack.Count > 0)
        {
            var dir = stack.Pop();
            IEnumerable<FileSystemInfo> entries;
            try { entries = new DirectoryInfo(dir).EnumerateFileSystemInfos(); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { continue; }
            try
            {
                foreach (var e in entries)
                {
                    var rel = Rel(e.FullName);
                    if (e is DirectoryInfo d)
                    {
                        if (!_filter.IsExcludedDirectory(rel) && !d.Attributes.HasFlag(FileAttributes.ReparsePoint)) stack.Push(d.FullName);
                        continue;
                    }
                    if (!_filter.Accepts(rel)) continue;
                    seen.Add(rel);
                    var f = (FileInfo)e;
                    if (!_catalog.Matches(rel, f.Length, f.LastWriteTimeUtc.Ticks)) _pending[rel] = 0;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
        foreach (var rel in _catalog.Paths)
            if (!seen.Contains(rel)) _pending[rel] = 0;
    }

    /// <summary>Messages posted in one queue transaction (one confirm round with a broker).</summary>
    private const int PostBatch = 256;

    /// <summary>A message ready to post, and what becomes true once it is durable.</summary>
    private sealed record Post(string RelPath, OutgoingMessage Message, Action Posted);

    /// <summary>Posts the batch; false when the broker is away (the paths stay pending).</summary>
    private async Task<bool> FlushAsync(List<Post> batch, CancellationToken ct)
    {
        if (batch.Count == 0) return true;
        try
        {
            await _queue.PublishAsync(batch.Select(p => p.Message).ToList(), ct).ConfigureAwait(false);
        }
        catch (HpcException ex) when (ex.Kind == HpcErrorKind.ConnectionError)
        {
            batch.Clear();
            return false;
        }
        foreach (var p in batch)
        {
            p.Posted();
            _pending.TryRemove(p.RelPath, out _);
        }
        batch.Clear();
        return true;
    }

    /// <summary>
    /// Looks at one pending path: a message to post, or null when there is nothing to post now. A path that needs no
    /// more attention (unchanged, excluded, a delete handled without forwarding) leaves the pending set here; one
    /// that is still settling stays in it.
    /// </summary>
    private async Task<Post?> ExamineAsync(string rel, CancellationToken ct)
    {
        var full = Path.Combine(_settings.WatchDirectory, rel);
        var fi = new FileInfo(full);
        if (!fi.Exists)
        {
            if (Directory.Exists(full)) return Settled(rel);
            return Gone(rel);
        }
        if (!_filter.Accepts(rel)) return Settled(rel);
        var size = fi.Length;
        var mtime = fi.LastWriteTimeUtc;
        if (_catalog.Matches(rel, size, mtime.Ticks)) return Settled(rel);
        var now = DateTime.UtcNow;
        if ((now - mtime).TotalSeconds < _settings.SettleSeconds) return null;

        string identity;
        try
        {
            identity = Convert.ToBase64String((await Common.FileHash.Sha512Async(full, size, ct).ConfigureAwait(false)).Hash);
        }
        catch (FileNotFoundException) { return Gone(rel); }
        catch (DirectoryNotFoundException) { return Gone(rel); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _sink.Verbose($"Cannot read '{full}' yet: {ex.Message}");
            return null;
        }
        fi.Refresh();
        if (!fi.Exists || fi.Length != size || fi.LastWriteTimeUtc != mtime) return null;   // still being written

        var message = new V03Message
        {
            PubTime = V03Message.FormatTime(DateTime.UtcNow),
            RelPath = rel,
            BaseUrl = _baseUrl,
            Source = _settings.EffectiveSource,
            Mode = Convert.ToString(UnixMode(full), 8),
            Size = size,
            MTime = V03Message.FormatTime(mtime),
            ATime = V03Message.FormatTime(fi.LastAccessTimeUtc),
            IdentityMethod = "sha512",
            IdentityValue = identity,
            ContentType = V03Message.GuessContentType(rel),
        };
        var body = message.ToJson();
        return new Post(rel, new OutgoingMessage(V03Message.RoutingKey(_settings.TopicPrefix, rel), body, new CatalogChange(rel, size, mtime.Ticks)), () =>
        {
            _catalog.Set(rel, size, mtime.Ticks);
            _metrics.Published(System.Text.Encoding.UTF8.GetByteCount(body), size, (DateTime.UtcNow - mtime).TotalSeconds);
        });
    }

    private Post? Settled(string rel)
    {
        _pending.TryRemove(rel, out _);
        return null;
    }

    private Post? Gone(string rel)
    {
        if (!Directory.Exists(_settings.WatchDirectory)) return null;
        if (_catalog.TakeRemovedAfterSend(rel) || !_catalog.Contains(rel)) return Settled(rel);
        if (!_settings.ForwardDeletes || !_filter.Accepts(rel))
        {
            _catalog.Remove(rel);
            _catalog.Store.ForgetPosted(rel);
            return Settled(rel);
        }
        var message = new V03Message
        {
            PubTime = V03Message.FormatTime(DateTime.UtcNow), RelPath = rel, BaseUrl = _baseUrl, Source = _settings.EffectiveSource, IsRemove = true,
        };
        var body = message.ToJson();
        return new Post(rel, new OutgoingMessage(V03Message.RoutingKey(_settings.TopicPrefix, rel), body, new CatalogChange(rel, 0, 0, Forget: true)), () =>
        {
            _catalog.Remove(rel);
            _metrics.Published(System.Text.Encoding.UTF8.GetByteCount(body), 0, 0);
        });
    }

    internal static int UnixMode(string path)
    {
        if (OperatingSystem.IsWindows()) return Convert.ToInt32("644", 8);
        return (int)File.GetUnixFileMode(path) & 0xFFF;
    }
}
