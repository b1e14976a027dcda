using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm;

/// <summary>
/// Raw pointers into contiguous float32 CPU tensors for <see cref="RecurrenceKernels"/>: the start of a tensor, and
/// the row of sequence b at position t of a [B, T, W] buffer. The tensor must stay alive while a pointer is used.
/// </summary>
internal static unsafe class TensorRows
{
    /// <summary>The first element of a contiguous float32 tensor on the CPU.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not float32 on the CPU (<c>bytes</c> itself refuses a non-contiguous one).</exception>
    public static float* Of(Tensor contiguous) => (float*)Start(contiguous, ScalarType.Float32);

    /// <summary>The first element of a contiguous int64 tensor on the CPU.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not int64 on the CPU.</exception>
    public static long* OfIndex(Tensor contiguous) => (long*)Start(contiguous, ScalarType.Int64);

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

    private static void* Start(Tensor tensor, ScalarType dtype)
    {
        if (tensor.dtype != dtype || tensor.device_type != DeviceType.CPU)
        {
            throw new InvalidOperationException($"The fused recurrence kernels need {dtype} tensors on the CPU, but got {tensor.dtype} on {tensor.device}: give every parameter of the model the same dtype and device.");
        }

        return Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
    }
}
