import type { Product } from '../domain/product.js';

/** The catalog `npm start` seeds: ids are stable so stock and tests can name them. */
export const SEED_PRODUCTS: readonly Product[] = [
  ['kettle', 'Stovetop Kettle', 'A 2-litre enamel kettle that whistles when ready.', 3499],
  ['mug', 'Stoneware Mug', 'A 350 ml mug, glazed in slate blue.', 1299],
  ['grinder', 'Burr Coffee Grinder', 'Conical steel burrs, 40 grind settings.', 8999],
  ['beans', 'Single-Origin Beans', '1 kg of medium-roast beans from Huila, Colombia.', 2450],
  ['press', 'French Press', 'A 1-litre borosilicate press with a steel filter.', 2999],
  ['scale', 'Pour-Over Scale', 'Weighs to 0.1 g with a built-in timer.', 4599],
  ['filter', 'Paper Filters (100)', 'Unbleached cone filters, size 02.', 599],
  ['dripper', 'Ceramic Dripper', 'A size 02 cone dripper with spiral ribs.', 2299],
  ['teapot', 'Cast-Iron Teapot', 'A 0.8-litre tetsubin with an infuser.', 5999],
  ['tea', 'Sencha Green Tea', '100 g of first-flush sencha from Shizuoka.', 1599],
  ['tray', 'Serving Tray', 'Oiled walnut, 40 × 28 cm.', 3999],
  ['limited', 'Limited Edition Mug', 'Only a handful were made.', 4999],
].map(([id, name, description, amount]) => ({
  id: id as string,
  name: name as string,
  description: description as string,
  price: { amount: amount as number, currency: 'USD' },
  imageUrl: `/images/${id}.svg`,
}));
