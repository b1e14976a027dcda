using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace NewLlm;

/// <summary>
/// Raw pointers into contiguous float32 CPU tensors for <see cref="RecurrenceKernels"/>: the start of a tensor, and
/// the row of sequence b at position t of a [B, T, W] buffer. The tensor must stay alive while a pointer is used.
/// </summary>
internal static unsafe class TensorRows
{
    /// <summary>The first element of a contiguous float32 tensor on the CPU.</summary>
    public static float* Of(Tensor contiguous) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(contiguous.bytes));

    /// <summary>The first element of a contiguous int64 tensor on the CPU.</summary>
    public static long* OfIndex(Tensor contiguous) => (long*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(contiguous.bytes));

    /// <summary>Row (<paramref name="sequence"/>, <paramref name="t"/>) of a contiguous [B, T, W] buffer; consecutive sequences are <paramref name="stride"/> floats apart.</summary>
    public static float* At(Tensor buffer, long sequence, long t, out long stride)
    {
        long time = buffer.shape[1], width = buffer.shape[2];
        stride = time * width;
        return Of(buffer) + (((sequence * time) + t) * width);
    }

    /// <summary>
    /// The context entering position <paramref name="t"/>: row t - 1 of the contexts [B, T, C], or for t = 0 the
    /// initial context [B, C].
    /// </summary>
    public static float* Before(Tensor contexts, Tensor initial, long sequence, long t, out long stride)
    {
        if (t > 0)
        {
            return At(contexts, sequence, t - 1, out stride);
        }

        stride = initial.shape[1];
        return Of(initial) + (sequence * stride);
    }
}
