using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NewLlm;

/// <summary>
/// Raw row pointers into a contiguous float32 CPU tensor for <see cref="RecurrenceKernels"/>: row (b, t) of a
/// [B, T, W] buffer, row b of a [B, W] one, or the start of a vector. Taken once per loop, not per position; the tensor
/// must stay alive while the view is used.
/// </summary>
internal readonly unsafe struct TensorRows
{
    private readonly float* _start;
    private readonly long _time;
    private readonly long _width;

    /// <summary>A view of <paramref name="tensor"/>, which must be contiguous float32 on the CPU.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not float32 on the CPU (<c>bytes</c> itself refuses a non-contiguous one).</exception>
    public TensorRows(Tensor tensor)
    {
        _start = (float*)Start(tensor, ScalarType.Float32);
        long[] shape = tensor.shape;
        _time = shape.Length == 3 ? shape[1] : 1;
        _width = shape[^1];
    }

    /// <summary>Floats between the rows of consecutive sequences.</summary>
    public long Stride => _time * _width;

    /// <summary>The first element.</summary>
    public float* Start() => _start;

    /// <summary>Row (<paramref name="sequence"/>, <paramref name="t"/>).</summary>
    public float* At(long sequence, long t = 0) => _start + (((sequence * _time) + t) * _width);

    /// <summary>
    /// The context entering position <paramref name="t"/> of <paramref name="sequence"/>: row t - 1 of the contexts
    /// [B, T, C], or for t = 0 the initial context [B, C].
    /// </summary>
    public static float* Before(in TensorRows contexts, in TensorRows initial, long sequence, long t, out long stride)
    {
        if (t > 0)
        {
            stride = contexts.Stride;
            return contexts.At(sequence, t - 1);
        }

        stride = initial.Stride;
        return initial.At(sequence);
    }

    /// <summary>The first element of a contiguous int64 tensor on the CPU.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not int64 on the CPU.</exception>
    public static long* OfIndex(Tensor contiguous) => (long*)Start(contiguous, ScalarType.Int64);

    private static void* Start(Tensor tensor, ScalarType dtype)
    {
        if (tensor.dtype != dtype || tensor.device_type != DeviceType.CPU)
        {
            throw new InvalidOperationException($"The fused recurrence kernels need {dtype} tensors on the CPU, but got {tensor.dtype} on {tensor.device}: give every parameter of the model the same dtype and device.");
        }

        return Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
    }
}
