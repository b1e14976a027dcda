using System.Runtime.ExceptionServices;
using ICSharpCode.SharpZipLib;
using ICSharpCode.SharpZipLib.GZip;

namespace NewLlm.Data;

/// <summary>
/// The decompressed bytes of a gzip file of one or more members, read by SharpZipLib's <see cref="GZipInputStream"/>
/// (which checks every header, trailer, CRC32 and ISIZE); this wrapper names the file in every error (an
/// <see cref="InvalidDataException"/>: truncated or corrupt, the byte offset when the source can seek, what to do) and
/// restores two refusals the library lacks. After a read has thrown, every later read throws the same. Not thread-safe.
/// </summary>
/// <remarks>
/// Where, after a complete member, what follows is not a gzip header, the library returns a clean end (it assumes
/// trailing garbage), and it reads an empty input as an empty file. Zero padding is accepted, as Python's <c>gzip</c> does;
/// text, a member after padding or a member with a corrupt header is not: at the library's end, its last <c>Fill</c> must
/// have found the file ended, or the byte that failed as a header and every byte after it must be zero. (A header prefix
/// ending in a zero byte, <c>1f 00</c>, followed by zeros only would pass; such files are not known to occur.)
/// </remarks>
internal sealed class CheckedGzipInputStream : GZipInputStream
{
    private const int BufferSize = 1 << 16;

    private readonly Stream _source;
    private readonly string _path;
    private bool _started;
    private bool _ended;
    private bool _disposed;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Reads the gzip data of <paramref name="compressed"/> from its current position; <paramref name="path"/> names it in messages.</summary>
    public CheckedGzipInputStream(Stream compressed, string path, bool leaveOpen = false)
        : base(compressed ?? throw new ArgumentNullException(nameof(compressed)), BufferSize)
    {
        ArgumentNullException.ThrowIfNull(path);
        _source = compressed;
        _path = path;
        IsStreamOwner = !leaveOpen;
    }

    /// <inheritdoc/>
    public override bool CanRead => !_disposed && base.CanRead;

    /// <summary>Reads decompressed bytes, going on into the next member where one ends; 0 only at the end of the file.</summary>
    public override int Read(byte[] buffer, int offset, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ValidateBufferArguments(buffer, offset, count);
        _failure?.Throw();
        if (count == 0 || _ended)
        {
            return 0;
        }

        try
        {
            if (!_started)
            {
                // The library reads an empty input as an empty file: fill its buffer first to tell.
                _started = true;
                inputBuffer.Fill();
                if (inputBuffer.Available <= 0)
                {
                    throw new InvalidDataException($"'{_path}' is empty (0 bytes): not a gzip file, perhaps a truncated download. {Advice}");
                }
            }

            int read;
            try
            {
                read = base.Read(buffer, offset, count);
            }
            catch (Exception e) when (e is SharpZipBaseException or EndOfStreamException or IndexOutOfRangeException)
            {
                // IndexOutOfRangeException: the library's inflater throws it on some corrupt dynamic Huffman code lengths.
                // The library's Fill found the file ended (its raw length is then 0) only where it wanted more bytes.
                throw inputBuffer.RawLength == 0
                    ? new InvalidDataException($"'{_path}' is a truncated gzip file: it ends inside a member ({e.Message}{At}). {Advice}", e)
                    : new InvalidDataException($"'{_path}' is a corrupt gzip file: {e.Message}{At}. {Advice}", e);
            }

            if (read == 0)
            {
                CheckEnd();
                _ended = true;
            }

            return read;
        }
        catch (Exception e)
        {
            // The library's state is unknown after any failure: never carry on from it.
            _failure = ExceptionDispatchInfo.Capture(e);
            throw;
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        base.Dispose(disposing);
    }

    private static string Advice => "Download or copy the file again.";

    /// <summary><c>"; at byte N of M"</c>: the bytes the library consumed, or empty when the source cannot seek.</summary>
    private string At => _source.CanSeek
        ? $"; at byte {_source.Position - inputBuffer.Available - inf.RemainingInput} of {_source.Length}"
        : string.Empty;

    /// <summary>Where the library ended the stream, refuses what it skipped unless that is zero padding (see the remarks).</summary>
    private void CheckEnd()
    {
        if (inputBuffer.RawLength == 0)
        {
            return;
        }

        string at = At;
        int failedOn = inputBuffer.RawLength - inputBuffer.Available - 1;
        bool zeros = failedOn >= 0 && inputBuffer.RawData[failedOn] == 0;
        while (zeros && inputBuffer.RawLength > 0)
        {
            zeros = !inputBuffer.RawData.AsSpan(inputBuffer.RawLength - inputBuffer.Available, inputBuffer.Available).ContainsAnyExcept((byte)0);
            inputBuffer.Fill();
        }

        if (!zeros)
        {
            throw new InvalidDataException(
                $"'{_path}' has bytes after a gzip member that are neither a valid gzip member nor zero padding (found after the last valid member{at}): the file is corrupt. {Advice}");
        }
    }
}
