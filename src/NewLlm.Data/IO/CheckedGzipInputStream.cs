using System.Runtime.ExceptionServices;
using ICSharpCode.SharpZipLib;
using ICSharpCode.SharpZipLib.GZip;

namespace NewLlm.Data;

/// <summary>
/// The decompressed bytes of a gzip file of one or more members, read by SharpZipLib's <see cref="GZipInputStream"/>
/// (which parses every header and trailer, checks each member's CRC32 and ISIZE, and throws where the file ends early).
/// This wrapper only names the file in the library's errors and restores two refusals the library lacks.
/// </summary>
/// <remarks>
/// <para>
/// Why it exists, beyond naming the file: <see cref="GZipInputStream"/> returns a clean end where, after a complete
/// member, what follows is not a gzip header (it assumes trailing garbage). That accepts zero padding, as Python's
/// <c>gzip</c> does and as this project always has, but it also accepts text, a member after zero padding, or a second
/// member whose header is corrupt (bad method, reserved flags, header CRC16): all of it silently dropped. It also reads an
/// empty input as an empty file. So where the library ends the stream, this wrapper looks at the library's own input
/// buffer: the library's last <c>Fill</c> found the file ended (a clean end), or the byte that failed as a header is zero
/// and every byte after it is zero (zero padding); anything else is refused. No gzip framing is parsed here.
/// </para>
/// <para>
/// The padding test cannot see where the last member ended, only the last byte the library consumed; so bytes after the
/// last member that are a header prefix ending in a zero byte (<c>1f 00</c>, <c>1f 8b 00</c>) followed by zeros only
/// would pass as padding. Such files are not known to occur; every other defect is refused.
/// </para>
/// <para>
/// Every error is an <see cref="InvalidDataException"/> naming the file, saying whether it is truncated (the library
/// wanted bytes past its end) or corrupt, the byte offset where the library was (when the source can seek) and what to
/// do. After a read has thrown, every later read throws the same exception. Not thread-safe.
/// </para>
/// </remarks>
internal sealed class CheckedGzipInputStream : GZipInputStream
{
    /// <summary>The library's input buffer size: 64 KiB reads from the file.</summary>
    private const int BufferSize = 1 << 16;

    private readonly Stream _source;
    private readonly string _path;
    private bool _started;
    private bool _ended;
    private bool _disposed;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Initializes a stream of the decompressed bytes of the gzip data in <paramref name="compressed"/>.</summary>
    /// <param name="compressed">The gzip data, read forward from its current position.</param>
    /// <param name="path">The file, for messages.</param>
    /// <param name="leaveOpen">Whether <paramref name="compressed"/> stays open when this stream is disposed.</param>
    /// <exception cref="ArgumentNullException"><paramref name="compressed"/> or <paramref name="path"/> is <see langword="null"/>.</exception>
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

    /// <summary>Reads decompressed bytes, going on into the next member where one ends.</summary>
    /// <param name="buffer">Where the bytes go.</param>
    /// <param name="offset">Where in <paramref name="buffer"/> the first byte goes.</param>
    /// <param name="count">How many bytes at most.</param>
    /// <returns>How many bytes were read; 0 only at the end of the file (or for a <paramref name="count"/> of 0).</returns>
    /// <exception cref="InvalidDataException">The file is empty, truncated or corrupt, or bytes other than zeros follow the last member.</exception>
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

    /// <summary>What to do about a bad file.</summary>
    private static string Advice => "Download or copy the file again.";

    /// <summary>Where the library was in the file (bytes consumed), for messages: <c>"; at byte N of M"</c>, or empty when the source cannot seek.</summary>
    private string At => _source.CanSeek
        ? $"; at byte {_source.Position - inputBuffer.Available - inf.RemainingInput} of {_source.Length}"
        : string.Empty;

    /// <summary>
    /// Where the library ended the stream, refuses what it skipped unless that is zero padding (see the remarks): the
    /// library's last <c>Fill</c> found the file ended, or the byte it failed on as a header and every byte after it are zeros.
    /// </summary>
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
