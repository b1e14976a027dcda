namespace NewLlm.Data;

/// <summary>
/// Reads a stream line by line as bytes in bounded memory: one buffer that grows only to the longest line. A line is
/// the bytes up to <c>\n</c> (a <c>\r</c> before it stays, as JSON ignores it); the last line needs no <c>\n</c>.
/// A line longer than the limit is refused as soon as the scan has read past the limit, so it is never held whole.
/// </summary>
internal sealed class LineScanner
{
    private const int InitialSize = 1 << 16;
    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private byte[] _buffer = new byte[InitialSize];
    private int _start;
    private int _end;
    private bool _atEnd;

    /// <summary>Creates a scanner over a stream (not disposed by it).</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="maxLineBytes">The longest line taken (without its <c>\n</c>); a longer one throws <see cref="LineTooLongException"/>.</param>
    public LineScanner(Stream stream, int maxLineBytes = int.MaxValue)
    {
        _stream = stream;
        _maxLineBytes = maxLineBytes;
    }

    /// <summary>The 1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>The next line, or <see langword="null"/> at the end of the stream. Valid until the next call.</summary>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadLineAsync(CancellationToken cancellationToken)
    {
        int searched = _start;
        while (true)
        {
            int newline = Array.IndexOf(_buffer, (byte)'\n', searched, _end - searched);
            if (newline >= 0)
            {
                ThrowIfTooLong(newline - _start, complete: true);
                var line = new ReadOnlyMemory<byte>(_buffer, _start, newline - _start);
                _start = newline + 1;
                LineNumber++;
                return line;
            }

            if (_atEnd)
            {
                if (_start == _end)
                {
                    return null;
                }

                ThrowIfTooLong(_end - _start, complete: true);
                var last = new ReadOnlyMemory<byte>(_buffer, _start, _end - _start);
                _start = _end;
                LineNumber++;
                return last;
            }

            // No end of line yet: a line already past the limit is refused here, before more of it is read.
            ThrowIfTooLong(_end - _start, complete: false);
            searched = _end;
            if (_start > 0)
            {
                // Move the partial line to the front before reading more.
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                searched -= _start;
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _atEnd = true;
            }

            _end += read;
        }
    }

    private void ThrowIfTooLong(long length, bool complete)
    {
        if (length > _maxLineBytes)
        {
            throw new LineTooLongException(LineNumber + 1, length, complete);
        }
    }

    /// <summary>Whether a line holds only spaces, tabs and carriage returns (such lines are skipped, as in HH-RLHF).</summary>
    public static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (byte b in line)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\f' or (byte)'\v'))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>A line longer than a <see cref="LineScanner"/>'s limit.</summary>
/// <param name="lineNumber">The 1-based line.</param>
/// <param name="bytes">Its length, or the bytes of it read when the scan stopped.</param>
/// <param name="complete">Whether <paramref name="bytes"/> is the whole line.</param>
internal sealed class LineTooLongException(long lineNumber, long bytes, bool complete)
    : Exception($"line {lineNumber} is {(complete ? string.Empty : "at least ")}{bytes} bytes long")
{
    public long LineNumber { get; } = lineNumber;

    public long Bytes { get; } = bytes;

    public bool Complete { get; } = complete;
}
