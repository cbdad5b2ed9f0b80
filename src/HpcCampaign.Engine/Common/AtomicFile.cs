namespace HpcCampaign.Engine.Common;

/// <summary>Writes files so that readers see the old or the new content, never a half-written one.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="write"/>'s output to a temp file next to <paramref name="path"/>, flushes it to disk and
    /// renames it over the target. <paramref name="ownerOnly"/> creates it 0600 on Unix. Without
    /// <paramref name="overwrite"/> an existing target is an error (ResourceExists), checked again at the rename.
    /// </summary>
    public static void Write(string path, Action<Stream> write, bool overwrite = true, bool ownerOnly = false)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        if (!overwrite && File.Exists(path))
            throw new HpcException("FileExists", HpcErrorKind.ResourceExists, $"'{path}' already exists; use -Force to overwrite it.", path);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (ownerOnly && !OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using (var fs = new FileStream(tmp, options))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite);
        }
        catch (IOException) when (!overwrite && File.Exists(path))
        {
            TryDelete(tmp);
            throw new HpcException("FileExists", HpcErrorKind.ResourceExists, $"'{path}' already exists; use -Force to overwrite it.", path);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    public static void WriteAllText(string path, string text, bool overwrite = true, bool ownerOnly = false) =>
        Write(path, s => { var b = new System.Text.UTF8Encoding(false).GetBytes(text); s.Write(b, 0, b.Length); }, overwrite, ownerOnly);

    public static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
