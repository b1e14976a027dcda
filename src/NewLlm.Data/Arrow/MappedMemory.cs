using System.Buffers;

namespace NewLlm.Data;

/// <summary>
/// A range of memory-mapped bytes as <see cref="Memory{T}"/>, so that Arrow's memory reader slices its buffers out of the
/// mapping instead of copying them (Apache.Arrow's <c>ArrowStreamReader(ReadOnlyMemory&lt;byte&gt;)</c>). The mapping is
/// owned by the caller and must outlive every slice.
/// </summary>
internal sealed unsafe class MappedMemory(byte* pointer, int length) : MemoryManager<byte>
{
    public override Span<byte> GetSpan() => new(pointer, length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
