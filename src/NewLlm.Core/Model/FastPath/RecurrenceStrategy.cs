namespace NewLlm;

/// <summary>
/// The element-wise work of <see cref="RecurrenceLoops"/> (bias, ReLU and dropout; sigmoid, mixture, LayerNorm and
/// clamp; and their backwards), called once per position for one row thread's rows; the loops run the matrix products.
/// <see cref="FusedCpuStrategy"/> is one fused pass per row for float32 on the CPU; <see cref="OperatorStrategy"/> uses
/// libtorch operators (any dtype or device). Both compute the equations of <see cref="ContextRecurrence.Reference"/>.
/// </summary>
internal abstract class RecurrenceStrategy
{
    public static RecurrenceStrategy For(Tensor like) =>
        like.dtype == ScalarType.Float32 && like.device_type == DeviceType.CPU ? FusedCpuStrategy.Instance : OperatorStrategy.Instance;

    /// <summary>
    /// Whether the deeper layers' and the heads' products add to their buffers (the strategy put the biases there up
    /// front) rather than overwrite them (the strategy adds the biases afterwards). The first layer's product always
    /// adds to its rows of the table.
    /// </summary>
    public abstract bool ProductsAddToBuffers { get; }

    /// <summary>The inputs in the layout this strategy reads; saved as they are returned.</summary>
    public virtual RecurrenceInputs Prepare(RecurrenceInputs inputs) => inputs;

    /// <summary>The forward's work for rows [first, first + count), made on (and used by) one row thread.</summary>
    public abstract ForwardRows Forward(RecurrenceBuffers buffers, DropoutMask mask, long first, long count);

    /// <summary>
    /// The backward's work for rows [first, first + count), made on (and used by) one row thread, from the hidden-state
    /// output's gradient [B, T, H] (contiguous; null when none) and <paramref name="keep"/> = 1 / (1 - p), adding to <paramref name="sums"/>.
    /// </summary>
    public abstract BackwardRows Backward(RecurrenceBuffers buffers, Tensor? dHidden, float keep, ThreadGradients sums, long first, long count);

    internal abstract class ForwardRows
    {
        public abstract void BeginPosition(long t);

        /// <summary>The pre-activation <paramref name="h"/> of a layer becomes its output (bias where the strategy adds it, ReLU, dropout), in place.</summary>
        public abstract void ReluDropout(int layer, long t, Tensor h);

        /// <summary>Replaces the heads' products <paramref name="gates"/> [rows, 3C] by u, sigmoid(f), sigmoid(i) and writes the next context to <paramref name="next"/>.</summary>
        public abstract void GatesAndNorm(long t, Tensor gates, Tensor context, Tensor next);
    }

    internal abstract class BackwardRows
    {
        protected BackwardRows(RecurrenceBuffers buffers, long count)
        {
            Tensor Empty(long width) => empty(count, width, dtype: buffers.Gates.dtype, device: buffers.Gates.device);
            long c = buffers.ContextDim;
            DGates = Empty(3 * c);
            DLayers = Enumerable.Range(0, buffers.Layers).Select(_ => Empty(buffers.HiddenDim)).ToArray();
            DContext = zeros(count, c, dtype: buffers.Gates.dtype, device: buffers.Gates.device);
            DContextBefore = Empty(c);
        }

        /// <summary>The gate pre-activations' gradient [rows, 3C].</summary>
        public Tensor DGates { get; }

        /// <summary>Every layer's pre-activation gradient [rows, H].</summary>
        public Tensor[] DLayers { get; }

        /// <summary>The gradient reaching the context after the current position [rows, C].</summary>
        public Tensor DContext { get; private set; }

        /// <summary>The gradient of the context before the current position [rows, C], being formed.</summary>
        public Tensor DContextBefore { get; private set; }

        /// <summary>
        /// Back through the clamp, LayerNorm and gates at <paramref name="t"/>: writes <see cref="DGates"/>, sets
        /// <see cref="DContextBefore"/> to the share through the forget gate, and adds the heads' bias and LayerNorm gradients to the sums.
        /// </summary>
        public abstract void GatesAndNormBackward(long t, Tensor contextBefore);

        /// <summary>
        /// Back through dropout and ReLU of a layer, in place in its <see cref="DLayers"/> entry (after adding the
        /// hidden-state output's gradient to the last layer's), adding the bias gradient of layers after the first to the sums.
        /// </summary>
        public abstract void ReluDropoutBackward(int layer, long t);

        /// <summary>Moves to the position before: the context gradient formed becomes the one reaching it.</summary>
        public void EndPosition()
        {
            (DContext, DContextBefore) = (DContextBefore, DContext);
            ContextGradientsSwapped();
        }

        /// <summary>After the loop: adds to the sums what the strategy kept elsewhere.</summary>
        public virtual void Finish()
        {
        }

        protected virtual void ContextGradientsSwapped()
        {
        }
    }
}
